"""Audit log benchmark (issue 2): append rate, bulk fill, verify rate and proof times at N events.

    .venv/bin/python benchmarks/audit_bench.py [--events N] [--appends M] [--keep]    (make bench: N = 1,000,000)
    .venv/bin/python benchmarks/audit_bench.py --smoke    (10,000 events, every phase, in seconds: the test suite)

Runs against a dedicated database `govern_bench` (with --smoke, `govern_bench_smoke_<pid>`) on the embedded
PostgreSQL server (`.pgdata/`), dropped and created afresh, never the developer's `govern` database nor the test
database. Django's secret and the signing key go to a temporary folder, so nothing under `var/` is touched. It
measures the code in `apps/audit` as it stands: `services.record` (the `audit_append` database function),
`verification.verify` with and without the column check, and `proofs.inclusion` / `proofs.consistency`, each proof
checked with `verifier` against the signed root.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import multiprocessing
import os
import platform
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "govern_bench"
ACTION = "account.update"
TARGET_TYPE = "bench.thing"
TARGET_APPENDS = 1500  # per second
TARGET_VERIFY = 200_000  # events per second
TARGET_PROOF_MS = 5.0  # median and p99

RANKS = ["constable", "sergeant", "inspector", "chief_inspector", "superintendent"]
UNITS = ["Met LFR Team 1", "Met LFR Team 2", "RFR Bureau", "Custody Imaging", "Public Protection"]

SMOKE_HELP = (
    "a tiny size that runs every phase end to end in seconds, on a database of its own; the test suite runs it "
    "(tests/test_benchmarks_smoke.py). Targets are shown but do not decide the exit status"
)

# The steps of verification.verify(), timed by wrapping them for the length of a run; the second group are the
# row-by-row fallbacks, which should not run on an intact log.
VERIFY_STEPS = ["_fast_leaves", "_column_check", "_levels", "_fast_tree_node_check", "_checkpoint_check", "_head_check"]
VERIFY_FALLBACKS = ["_leaves", "_python_column_check", "_tree_node_check"]


# --- Set-up: machine, load, database, Django ----------------------------------------------------------------------


def machine() -> dict[str, str]:
    """CPU count and model, RAM, kernel and Python of this machine."""
    model = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram_kib = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                ram_kib = int(line.split()[1])
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": model,
        "ram": f"{ram_kib / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def load_average() -> str:
    """The kernel's 1, 5 and 15 minute load averages."""
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


class Load:
    """Machine-wide CPU use during a phase (from /proc/stat) beside this script's own: the machine is shared."""

    def __init__(self) -> None:
        """Start measuring."""
        self.busy, self.total = self._stat()
        self.cpu = time.process_time()
        self.wall = time.perf_counter()

    @staticmethod
    def _stat() -> tuple[int, int]:
        with open("/proc/stat") as handle:
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, handle.readline().split()[1:9])
        total = user + nice + system + idle + iowait + irq + softirq + steal
        return total - idle - iowait, total

    def done(self) -> str:
        """How busy the machine's CPUs were since the start, and how much of that was this script's Python."""
        busy, total = self._stat()
        cpus = len(os.sched_getaffinity(0))
        machine_busy = 100 * (busy - self.busy) / max(1, total - self.total)
        own = 100 * (time.process_time() - self.cpu) / max(1e-9, time.perf_counter() - self.wall) / cpus
        return f"CPUs {machine_busy:.0f}% busy (this script's Python: {own:.0f}% of all CPUs), load {load_average()}"


def stop_on_terminate() -> None:
    """Let SIGTERM (a timed-out test's, or `kill`'s) stop a run as Ctrl-C does, through its cleanup: its servers
    stopped, its database dropped."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def smoke_database(name: str) -> str:
    """The database a --smoke run uses instead of `name`: this process's own, so that a smoke run (the test suite's)
    never drops the database of a full run or of another smoke run on the same server."""
    return f"{name}_smoke_{os.getpid()}"


def _drop_stale_smoke_databases(conn) -> None:
    """Drop the databases of smoke runs whose process is gone (killed before it could drop its own)."""
    for (name,) in conn.execute("SELECT datname FROM pg_database WHERE datname ~ '_smoke_[0-9]+$'").fetchall():
        if not Path(f"/proc/{name.rsplit('_', 1)[1]}").exists():
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_bench_database(pgdata: Path, name: str = BENCH_DB) -> str:
    """Start (or attach to) the embedded server, recreate the bench database `name` and return the socket folder."""
    import psycopg

    from govern import embedded_db

    socket_dir = embedded_db.database_settings(pgdata)["HOST"]
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        _drop_stale_smoke_databases(conn)
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return socket_dir


def drop_bench_database(socket_dir: str, name: str = BENCH_DB) -> None:
    """Drop the bench database `name` (after closing Django's connections to it)."""
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(socket_dir: str, var_dir: str, name: str = BENCH_DB) -> None:
    """Point Django at the bench database `name`, with development settings, a throwaway var folder and the
    uncalibrated engine (no FACE_WEIGHTS, a receipt key generated there), and migrate."""
    for setting in ("DATABASE_URL_FILE", "DEBUG_FILE", "GOVERN_VAR_DIR_FILE", "FACE_WEIGHTS", "RECEIPT_KEY_FILE"):
        os.environ.pop(setting, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "govern.settings.base"
    os.environ["DEBUG"] = "true"
    os.environ["DATABASE_URL"] = f"postgresql://postgres@/{name}?host={socket_dir}"
    os.environ["GOVERN_VAR_DIR"] = var_dir  # dev secret and (unless configured) signing key land here, not in var/
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The figures in docs/benchmarks.md are facenet-pytorch's (the 512-d engine the custody projection is for); without
    # weights the settings would choose dlib. FACE_ENGINE=dlib measures dlib's.
    os.environ.setdefault("FACE_ENGINE", "facenet")

    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    database = settings.DATABASES["default"]
    assert database["NAME"] == name and database["HOST"] == socket_dir, database
    call_command("migrate", verbosity=0)


def server_settings() -> dict[str, str]:
    """The server settings that decide commit cost and parallel scans, as the server reports them."""
    from django.db import connection

    names = ["server_version", "fsync", "synchronous_commit", "wal_sync_method", "full_page_writes", "commit_delay"]
    names += ["shared_buffers", "max_wal_size", "max_parallel_workers_per_gather", "max_parallel_workers"]
    found = {}
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute("SELECT current_setting(%s)", [name])
            found[name] = cursor.fetchone()[0]
    return found


def payload(i: int) -> dict:
    """A small, realistic `account.update` payload: which fields changed, from what to what."""
    rank = i % len(RANKS)
    unit = (i // 7) % len(UNITS)
    changed = {"rank": [RANKS[rank], RANKS[(rank + 1) % len(RANKS)]]}
    if i % 3 == 0:
        changed["unit"] = [UNITS[unit], UNITS[(unit + 1) % len(UNITS)]]
    if i % 5 == 0:
        changed["is_active"] = [True, False]
    return {"changed": changed, "via": "bench", "warrant_number": f"MP{100000 + i % 900000}"}


def _query_kind(sql: str) -> str:
    """A short name for the queries verify and proofs run, so their server time can be told apart."""
    if "sha256(" in sql and "IS DISTINCT FROM leaf_hash" in sql:
        return "leaf hash scan"
    if "string_agg(leaf_hash" in sql:
        return "leaf fetch"
    if "json_to_record" in sql or "jsonb_to_record" in sql:
        return "column scan"
    if "FROM audit_treenode GROUP BY" in sql:
        return "node fetch"
    if "audit_append(" in sql:
        return "audit_append"
    return "other"


class QueryClock:
    """A Django execute wrapper: counts queries and the time spent waiting on the server, by kind of query."""

    def __init__(self) -> None:
        """Start with nothing counted."""
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.sql: dict[str, str] = {}
        self.params: dict[str, object] = {}

    def __call__(self, execute, sql, params, many, context):
        """Run the query and add its time to its kind."""
        kind = _query_kind(sql)
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[kind] += time.perf_counter() - t0
            self.counts[kind] += 1
            self.sql.setdefault(kind, sql)
            self.params.setdefault(kind, params)

    @property
    def total(self) -> int:
        """How many queries ran."""
        return sum(self.counts.values())


# --- 1. Append rate -------------------------------------------------------------------------------------------------

SCRATCH = "bench_commit"


def _timed(fn, count: int, start: int) -> list[float]:
    """Call fn(i) for count values of i and return each call's latency in seconds."""
    latencies = []
    clock = time.perf_counter
    for i in range(start, start + count):
        t0 = clock()
        fn(i)
        latencies.append(clock() - t0)
    return latencies


def _rates(latencies: dict[str, list[float]], totals: dict[str, float]) -> dict:
    """Rate, median and p99 latency of each kind of call."""
    result = {}
    for name, values in latencies.items():
        ordered = sorted(values)
        result[name] = {
            "count": len(ordered),
            "rate": len(ordered) / totals[name],
            "p50_ms": 1000 * ordered[len(ordered) // 2],
            "p99_ms": 1000 * ordered[int(len(ordered) * 0.99)],
        }
    return result


def _replayed_append_params() -> list:
    """The arguments record() passes to audit_append for one event, from the function record() builds them with, to
    replay without Python."""
    from apps.audit import services
    from govern import request_id

    request_id.begin_request()
    return list(services.append_params(ACTION, (TARGET_TYPE, "replayed"), None, data=payload(0)))


def _append_functions() -> dict:
    """The calls timed in the append phase, by name; each is one transaction with its commit (fsync on)."""
    from django.db import connection, transaction

    from apps.audit import services
    from govern import prepared, request_id

    body = services.canonical_json({"seq": 0, "data": payload(0), "pad": "x" * 200})  # about an event's size
    replay: list = []

    def bare(_i: int) -> None:
        with connection.cursor() as cursor:  # autocommit: the statement is its own transaction and commit
            cursor.execute(f"INSERT INTO {SCRATCH} (body) VALUES (%s)", [body])

    def bare_atomic(i: int) -> None:
        with transaction.atomic():  # BEGIN; INSERT; COMMIT
            bare(i)

    def record(i: int) -> None:
        request_id.begin_request()  # each event is its own unit of work, as in a web request
        services.record(ACTION, (TARGET_TYPE, i), None, data=payload(i))

    def record_atomic(i: int) -> None:
        with transaction.atomic():  # how a service calls it: BEGIN; SELECT audit_append(...); COMMIT
            record(i)

    def function_only(_i: int) -> None:
        if not replay:
            replay.extend(_replayed_append_params())
        # The database's share: the statement record() sends, prepared on the driver's cursor as record() sends it,
        # with no JSON built and no Event made.
        with prepared.cursor() as cursor:
            prepared.execute(cursor, f"SELECT * FROM {services.APPEND_CALL}", replay)
            cursor.fetchone()

    return {
        "bare": bare,
        "record": record,
        "bare_atomic": bare_atomic,
        "record_atomic": record_atomic,
        "function_only": function_only,
    }


def bench_appends(appends: int, rounds: int, debug: bool, names: list[str] | None = None) -> dict:
    """record() (one transaction each) against bare single-row commits, interleaved in rounds."""
    from django.conf import settings
    from django.db import connection

    assert not connection.in_atomic_block and connection.get_autocommit()
    settings.DEBUG = debug
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {SCRATCH} (id bigserial PRIMARY KEY, body text NOT NULL)")
    functions = _append_functions()
    if names is not None:
        functions = {name: functions[name] for name in names}
    counter = 10_000_000 if debug else 20_000_000  # target ids only; the log assigns seq
    for fn in functions.values():  # warm-up: connection, plans, caches
        _timed(fn, 100, counter)
        counter += 100
    per_round = max(1, appends // rounds)
    latencies: dict[str, list[float]] = {name: [] for name in functions}
    totals = dict.fromkeys(functions, 0.0)
    load = Load()
    for _ in range(rounds):
        for name, fn in functions.items():
            t0 = time.perf_counter()
            latencies[name] += _timed(fn, per_round, counter)
            totals[name] += time.perf_counter() - t0
            counter += per_round
    result = _rates(latencies, totals)
    result["load"] = load.done()
    result["debug"] = debug
    settings.DEBUG = False
    return result


def bench_without_flush(count: int, rounds: int = 2) -> dict:
    """Appends and a bare commit with synchronous_commit=off for this session: how much the flush costs."""
    from django.db import connection

    functions = _append_functions()
    names = ("record", "function_only", "bare")
    totals = dict.fromkeys(names, 0.0)
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    try:
        for name in names:
            _timed(functions[name], 100, 40_000_000)
        for _ in range(rounds):
            for name in names:
                t0 = time.perf_counter()
                _timed(functions[name], count // rounds, 40_000_000)
                totals[name] += time.perf_counter() - t0
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
    return {name: rounds * (count // rounds) / seconds for name, seconds in totals.items()}


def bench_batched(count: int, batches: tuple[int, ...] = (10, 1000)) -> dict:
    """Many record() calls per transaction: the cost of an append without its own commit, by batch size."""
    from django.db import transaction

    record = _append_functions()["record"]
    counter = 30_000_000
    result = {}
    for batch in batches:
        transactions = max(1, count // batch)
        t0 = time.perf_counter()
        for _ in range(transactions):
            with transaction.atomic():
                for _ in range(batch):
                    record(counter)
                    counter += 1
        result[batch] = transactions * batch / (time.perf_counter() - t0)
    return result


def _worker(name: str, barrier, stop, counts, slot: int) -> None:
    """One appending process of the concurrent run: warm up, wait for the others, append until told to stop."""
    fn = _append_functions()[name]
    fn(-1 - slot)
    barrier.wait()
    done = 0
    while not stop.is_set():
        fn(slot * 1_000_000 + done)
        done += 1
    counts[slot] = done
    from django.db import connections

    connections.close_all()


def bench_concurrent(processes: int, seconds: float) -> dict:
    """Appends and bare commits from several processes at once (like web workers), each in its own transaction."""
    from django.db import connections

    from apps.audit import services

    context = multiprocessing.get_context("fork")
    result: dict = {"processes": processes, "seconds": seconds}
    before = services.tree_size()
    load = Load()
    for name in ("bare", "record"):
        connections.close_all()  # children open their own connections
        barrier = context.Barrier(processes + 1)
        stop = context.Event()
        counts = context.Array("q", processes)
        pool = [context.Process(target=_worker, args=(name, barrier, stop, counts, n)) for n in range(processes)]
        for process in pool:
            process.start()
        barrier.wait()
        t0 = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for process in pool:
            process.join()
        elapsed = time.perf_counter() - t0
        assert all(process.exitcode == 0 for process in pool), [process.exitcode for process in pool]
        result[name] = sum(counts) / elapsed
        if name == "record":
            result["record_calls"] = sum(counts)
    result["appended"] = services.tree_size() - before
    assert result["appended"] == result["record_calls"] + processes, result  # + each worker's warm-up event
    result["load"] = load.done()
    return result


def check_canonical_form() -> int:
    """Every event so far holds exactly the bytes canonical_json and format_time give, at its position."""
    # verify() compares parsed values, so it would not notice, say, a time written with fewer digits; this does.
    from django.db import connection

    from apps.audit import services

    count = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, created_at, canonical FROM audit_event ORDER BY seq")
        for seq, created_at, canonical in cursor.fetchall():
            body = json.loads(canonical)
            assert services.canonical_json(body) == canonical, seq
            assert body["time"] == services.format_time(created_at) and body["seq"] == seq, seq
            assert seq == count, (seq, count)
            count += 1
    return count


# --- 2. Fill --------------------------------------------------------------------------------------------------------

EVENT_COLUMNS = (
    "seq, created_at, actor_id, actor_username, request_id, action, target_type, target_id, reason, canonical, "
    "leaf_hash"
)


def fill(target: int, chunk: int = 100_000) -> dict:
    """Append events up to `target` exactly as record() would, written with COPY in one transaction per chunk."""
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.audit import merkle, services
    from apps.audit.models import LogHead

    sample = payload(12345)
    assert json.loads(services.canonical_json(sample)) == sample  # record() stores the JSON round trip of data
    canonical_json, format_time, leaf_hash, now = (
        services.canonical_json,
        services.format_time,
        merkle.leaf_hash,
        timezone.now,
    )
    actor = services.SYSTEM_ACTOR
    load = Load()
    t0 = time.perf_counter()
    written_nodes = 0
    start_size = None
    while True:
        with transaction.atomic():
            head = LogHead.objects.select_for_update().get(pk=1)  # the same lock audit_append takes
            if start_size is None:
                start_size = head.size
            if head.size >= target:
                break
            edge = merkle.CompactRange.from_bytes(head.size, bytes(head.frontier))
            end = min(target, head.size + chunk)
            nodes: list[tuple[int, int, bytes]] = []
            with connection.connection.cursor() as cursor:
                with cursor.copy(f"COPY audit_event ({EVENT_COLUMNS}) FROM STDIN") as copy:
                    for seq in range(head.size, end):
                        created_at = now()
                        request_id = uuid.uuid4()
                        body = {
                            "v": 1,
                            "seq": seq,
                            "time": format_time(created_at),
                            "actor_id": None,
                            "actor": actor,
                            "request_id": str(request_id),
                            "action": ACTION,
                            "target_type": TARGET_TYPE,
                            "target_id": str(seq),
                            "reason": "",
                            "data": payload(seq),
                        }
                        canonical = canonical_json(body)
                        leaf = leaf_hash(canonical.encode())
                        row = (seq, created_at, None, actor, request_id, ACTION, TARGET_TYPE, str(seq), "")
                        copy.write_row((*row, canonical, leaf))
                        nodes += edge.append(leaf)
                with cursor.copy('COPY audit_treenode (level, "index", hash) FROM STDIN') as copy:
                    for node in nodes:
                        copy.write_row(node)
            written_nodes += len(nodes)
            LogHead.objects.filter(pk=1).update(size=edge.size, frontier=edge.to_bytes())
        print(f"   filled to {end:,} events ({time.perf_counter() - t0:.0f} s)", flush=True)
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_event")
        cursor.execute("VACUUM ANALYZE audit_treenode")
    return {
        "events": target - start_size,
        "nodes": written_nodes,
        "seconds": seconds,
        "vacuum_seconds": time.perf_counter() - t1,
        "load": load.done(),
    }


def table_sizes() -> dict[str, str]:
    """On-disk size of the log's tables with their indexes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class "
            "WHERE relname IN ('audit_event', 'audit_treenode') ORDER BY relname"
        )
        return dict(cursor.fetchall())


# --- 3. Verify ------------------------------------------------------------------------------------------------------


def _timed_steps(module, names: list[str], steps: dict[str, float]) -> dict:
    """Wrap module functions so each call adds its time to steps; returns the originals for restoring."""
    originals = {name: getattr(module, name) for name in names}

    def wrap(name, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                steps[name] = steps.get(name, 0.0) + time.perf_counter() - t0

        return timed

    for name, fn in originals.items():
        setattr(module, name, wrap(name, fn))
    return originals


def _verify_once(columns: bool) -> dict:
    """One run of verify(columns=...), its steps timed and its queries' server time measured."""
    from django.db import connection

    from apps.audit import verification as v

    steps: dict[str, float] = {}
    clock = QueryClock()
    originals = _timed_steps(v, VERIFY_STEPS + VERIFY_FALLBACKS, steps)
    try:
        gc.collect()
        load = Load()
        with connection.execute_wrapper(clock):
            t0 = time.perf_counter()
            report = v.verify(columns=columns)
            total = time.perf_counter() - t0
    finally:
        for name, fn in originals.items():
            setattr(v, name, fn)
    return {
        "columns": columns,
        "report": report,
        "seconds": total,
        "steps": steps,
        "queries": dict(clock.seconds),
        "sql": clock.sql,
        "params": clock.params,
        "fallbacks": [name for name in VERIFY_FALLBACKS if name in steps],
        "load": load.done(),
    }


def _parallel_plan(sql: str, params=None) -> str:
    """The planner's "Workers Planned" line for one of verify's scans, under verify's own parallel settings."""
    from django.db import connection, transaction

    from apps.audit import verification as v

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(v._PARALLEL)
        cursor.execute("EXPLAIN " + sql, params)
        plan = [row[0].strip() for row in cursor.fetchall()]
        cursor.execute(v._SERIAL)
    return next((line for line in plan if "Workers Planned" in line), "not parallel")


def bench_verify(rounds: int) -> dict:
    """verify() with and without the column check, alternately `rounds` times; each run must find the log intact."""
    runs = []
    for _ in range(rounds):
        for columns in (True, False):
            run = _verify_once(columns)
            report = run["report"]
            assert report.ok, [str(p) for p in report.problems[:5]]
            runs.append(run)
            print(f"   verify(columns={columns}): {run['seconds']:.1f} s, {run['load']}", flush=True)
    counts = {(r["report"].events, r["report"].tree_nodes, r["report"].checkpoints) for r in runs}
    assert len(counts) == 1, counts
    result: dict = {"runs": runs}
    events, nodes, checkpoints = counts.pop()
    result |= {"events": events, "tree_nodes": nodes, "checkpoints": checkpoints}
    for label, columns in (("full", True), ("fast", False)):
        best = min((r for r in runs if r["columns"] is columns), key=lambda r: r["seconds"])
        result[label] = best | {"rate": events / best["seconds"]}
    sql, params = result["full"]["sql"], result["full"]["params"]
    result["plans"] = {
        kind: _parallel_plan(sql[kind], params.get(kind)) for kind in ("leaf hash scan", "column scan") if kind in sql
    }
    return result


def tamper_check() -> dict[str, list[str]]:
    """Alter the log behind the triggers: verify() must name each change, and --fast all but the column one."""
    from django.db import connection

    from apps.audit import verification as v

    with connection.cursor() as cursor:
        cursor.execute("SELECT size FROM audit_loghead WHERE id = 1")
        size = cursor.fetchone()[0]
        column_seq, text_seq, node_index = size // 5, size // 2, ((size - 3) >> 3) - 1
        cursor.execute("SET session_replication_role = replica")  # superuser only: skips the append-only triggers
        cursor.execute("UPDATE audit_event SET action = 'account.create' WHERE seq = %s", [column_seq])
        cursor.execute(
            "UPDATE audit_event SET canonical = replace(canonical, %s, %s) WHERE seq = %s",
            ['"via":"bench"', '"via":"bunch"', text_seq],
        )
        cursor.execute('UPDATE audit_treenode SET hash = sha256(hash) WHERE level = 3 AND "index" = %s', [node_index])
        cursor.execute("SET session_replication_role = DEFAULT")
    found = {"full": v.verify(columns=True).problems, "fast": v.verify(columns=False).problems}
    node_seq = node_index << 3
    expected = {"full": [column_seq, text_seq, node_seq], "fast": [text_seq, node_seq]}
    for label, problems in found.items():
        assert sorted(p.seq for p in problems) == sorted(expected[label]), (label, [str(p) for p in problems])
    assert any("action differs" in p.message for p in found["full"]), found["full"]
    return {label: [str(p) for p in problems] for label, problems in found.items()}


# --- 4. Proofs ------------------------------------------------------------------------------------------------------


def _summary(values: list[float]) -> dict:
    """Median, p99 and maximum in milliseconds."""
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "median_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max_ms": 1000 * ordered[-1],
    }


def bench_proofs(count: int, seed: int = 2) -> dict:
    """Inclusion and consistency proofs at random positions, each checked with verifier against the signed root."""
    from django.db import connection

    from apps.audit import proofs, signing, verifier
    from apps.audit.models import Checkpoint, Event

    public_key = signing.public_key_raw()
    signed = list(Checkpoint.objects.order_by("tree_size"))
    for checkpoint in signed:
        assert verifier.verify_checkpoint(
            public_key,
            checkpoint.tree_size,
            bytes(checkpoint.root_hash),
            checkpoint.timestamp,
            bytes(checkpoint.signature),
            checkpoint.origin,
        ), checkpoint
    latest = signed[-1]
    size, root = latest.tree_size, bytes(latest.root_hash)
    rng = random.Random(seed)
    for _ in range(20):  # warm-up
        proofs.inclusion(rng.randrange(size))
        proofs.consistency(rng.randrange(1, size), size)
    times: dict[str, list[float]] = {"inclusion": [], "consistency": []}
    queries: dict[str, list[int]] = {"inclusion": [], "consistency": []}
    clock = time.perf_counter
    load = Load()

    def timed(name, fn, *args):
        counter = QueryClock()
        with connection.execute_wrapper(counter):
            t0 = clock()
            result = fn(*args)
            times[name].append(clock() - t0)
        queries[name].append(counter.total)
        return result

    for _ in range(count):
        seq = rng.randrange(size)
        proof = timed("inclusion", proofs.inclusion, seq)
        assert proof.tree_size == size and proof.root_hash == root, seq
        canonical = Event.objects.values_list("canonical", flat=True).get(seq=seq)
        assert proof.leaf_hash == verifier.leaf_hash(canonical.encode()), seq  # the proof is about this event's text
        assert verifier.verify_inclusion(seq, size, proof.leaf_hash, proof.audit_path, root), seq
        first = rng.randrange(1, size)
        proof = timed("consistency", proofs.consistency, first, size)
        assert proof.second_root == root, first
        assert verifier.verify_consistency(first, size, proof.first_root, root, proof.proof), first
    for older in signed[:-1]:  # every signed checkpoint is consistent with the latest, both roots signed
        proof = proofs.consistency(older.tree_size, size)
        assert verifier.verify_consistency(older.tree_size, size, bytes(older.root_hash), root, proof.proof), older
    result = {name: _summary(values) | {"queries": statistics.median(queries[name])} for name, values in times.items()}
    result["tree_size"] = size
    result["load"] = load.done()
    return result


# --- Report ---------------------------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    """The verdict cell of a target."""
    return "met" if ok else "**missed**"


def _append_cell(r: dict) -> str:
    """Rate and latencies of one kind of append."""
    return f"{r['rate']:,.0f}/s (p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms)"


def _steps_cell(run: dict) -> str:
    """The time of each verify step, the rest, and the server time of each kind of query."""
    steps = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in run["steps"].items())
    queries = ", ".join(f"{kind} {seconds:.2f} s" for kind, seconds in run["queries"].items())
    # Outside a transaction verify runs _column_check on a second connection beside the other steps: its time
    # overlaps theirs, and its queries are not on this connection's clock.
    beside = "_column_check" in run["steps"]
    serial = [name for name in VERIFY_STEPS if name != "_column_check" or not beside]
    other = run["seconds"] - sum(seconds for name, seconds in run["steps"].items() if name in serial)
    fallbacks = f"; **fallbacks ran: {', '.join(run['fallbacks'])}**" if run["fallbacks"] else ""
    note = " (_column_check ran beside the others, on its own connection)" if beside else ""
    return f"{steps}{note}, rest {other:.2f} s (server time by query: {queries}){fallbacks}"


def print_report(args, host: dict, server: dict, results: dict, total_seconds: float) -> None:
    """Print a Markdown summary for docs/benchmarks.md."""
    appends, debug_true = results["appends"], results["appends_debug"]
    rec, bare, rec_atomic, bare_atomic, fn = (
        appends[name] for name in ("record", "bare", "record_atomic", "bare_atomic", "function_only")
    )
    v, p = results["verify"], results["proofs"]
    lines = [
        "",
        "=" * 120,
        f"command : .venv/bin/python benchmarks/audit_bench.py {' '.join(sys.argv[1:])}".rstrip(),
        f"date    : {results['started']} to {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}",
        f"machine : {host['nproc']} CPUs ({host['cpu']}), {host['ram']} RAM, Linux {host['kernel']}, "
        f"Python {host['python']}; load average at start {results['load_at_start']}",
        "server  : PostgreSQL "
        + server["server_version"]
        + " (embedded, Unix socket); "
        + ", ".join(f"{name}={value}" for name, value in server.items() if name != "server_version"),
        "",
        "| measure | result | target | verdict |",
        "| --- | --- | --- | --- |",
        f"| **append**: `record()` alone, autocommit: one statement, one transaction ({rec['count']:,}) "
        f"| {_append_cell(rec)} | ≥ {TARGET_APPENDS:,}/s | {_verdict(rec['rate'] >= TARGET_APPENDS)} |",
        f"| baseline: bare 1-row INSERT, autocommit ({bare['count']:,}) | {_append_cell(bare)} | | |",
        f"| **ratio** record() / bare commit | **{rec['rate'] / bare['rate']:.2f}** | | |",
        f"| `record()` in `transaction.atomic()` (BEGIN; SELECT audit_append; COMMIT) ({rec_atomic['count']:,}) "
        f"| {_append_cell(rec_atomic)} | ≥ {TARGET_APPENDS:,}/s | {_verdict(rec_atomic['rate'] >= TARGET_APPENDS)} |",
        f"| baseline: BEGIN; INSERT; COMMIT ({bare_atomic['count']:,}) | {_append_cell(bare_atomic)} | | |",
        f"| ratio record() in atomic / BEGIN-INSERT-COMMIT | {rec_atomic['rate'] / bare_atomic['rate']:.2f} | | |",
        f"| `audit_append` called straight from psycopg, same arguments, autocommit ({fn['count']:,}) "
        f"| {_append_cell(fn)}; ratio to bare {fn['rate'] / bare['rate']:.2f} | | |",
        f"| DEBUG=true (query logging): record() / bare ({debug_true['record']['count']:,} each) | "
        f"{debug_true['record']['rate']:,.0f} / {debug_true['bare']['rate']:,.0f} per s "
        f"(ratio {debug_true['record']['rate'] / debug_true['bare']['rate']:.2f}) | | |",
    ]
    batched, unflushed = results["batched"], results["without_flush"]
    lines += [
        "| record() calls per transaction (no commit per event): "
        + " / ".join(f"{batch:,}" for batch in batched)
        + " per transaction | "
        + " / ".join(f"{rate:,.0f}" for rate in batched.values())
        + " per s | | |",
        f"| synchronous_commit=off (not durable; shows the flush's share): record() / audit_append alone / bare | "
        f"{unflushed['record']:,.0f} / {unflushed['function_only']:,.0f} / {unflushed['bare']:,.0f} per s | | |",
    ]
    for c in results["concurrent"]:
        lines.append(
            f"| {c['processes']} processes at once, {c['seconds']:g} s each: record() / bare | "
            f"{c['record']:,.0f} / {c['bare']:,.0f} per s (ratio {c['record'] / c['bare']:.2f}; "
            f"{c['appended']:,} events) | ≥ {TARGET_APPENDS:,}/s | {_verdict(c['record'] >= TARGET_APPENDS)} |"
        )
    f = results["fill"]
    lines.append(
        f"| fill to {args.events:,} (COPY, {f['events']:,} events, {f['nodes']:,} nodes) | {f['seconds']:.0f} s "
        f"({f['events'] / f['seconds']:,.0f} events/s) + VACUUM ANALYZE {f['vacuum_seconds']:.0f} s | | |"
    )
    for label, title in (("full", "`verify()` (columns=True)"), ("fast", "`verify(columns=False)` = `--fast`")):
        run = v[label]
        all_runs = ", ".join(f"{r['seconds']:.1f} s" for r in v["runs"] if r["columns"] is run["columns"])
        lines += [
            f"| **{title}** at {v['events']:,} events ({v['tree_nodes']:,} nodes, {v['checkpoints']} checkpoints), "
            f"best of {len(v['runs']) // 2} | {run['seconds']:.2f} s = **{run['rate']:,.0f} events/s** "
            f"(all runs: {all_runs}) | ≥ {TARGET_VERIFY:,}/s | {_verdict(run['rate'] >= TARGET_VERIFY)} |",
            f"| — steps of that run | {_steps_cell(run)} | | |",
        ]
    lines.append(f"| parallel plans | {'; '.join(f'{k}: {plan}' for k, plan in v['plans'].items())} | | |")
    for kind in ("inclusion", "consistency"):
        r = p[kind]
        ok = r["median_ms"] <= TARGET_PROOF_MS and r["p99_ms"] <= TARGET_PROOF_MS
        lines.append(
            f"| **`proofs.{kind}()`** at {p['tree_size']:,} ({r['count']} random, each verified against the signed "
            f"root) | median {r['median_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.2f} ms, "
            f"{r['queries']:.0f} queries | ≤ {TARGET_PROOF_MS:.0f} ms | {_verdict(ok)} |"
        )
    lines += ["", "machine load during each phase (the machine is shared):"]
    for name, value in results.items():
        if name == "verify":
            for number, run in enumerate(v["runs"]):
                lines.append(f"  verify round {number // 2 + 1}, columns={run['columns']}: {run['load']}")
        elif isinstance(value, dict) and "load" in value:
            lines.append(f"  {name}: {value['load']}")
        elif name == "concurrent":
            lines += [f"  {name}, {c['processes']} processes: {c['load']}" for c in value]
    lines.append(f"events byte-for-byte canonical after the append phase: {results['canonical_checked']:,}")
    lines.append(f"table sizes: {results['sizes']}; whole run {total_seconds:.0f} s")
    if results.get("tamper"):
        lines.append(f"tamper check: {results['tamper']}")
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="log size for verify and proofs (1,000,000)")
    parser.add_argument("--appends", type=int, default=20_000, help="timed calls of each kind in the append phase")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds of appends and baselines (8)")
    parser.add_argument(
        "--processes", type=int, nargs="*", default=[2, 4], help="process counts for concurrent runs (2 4; none skips)"
    )
    parser.add_argument("--concurrent-seconds", type=float, default=5.0, help="length of each concurrent run (5)")
    parser.add_argument("--verify-rounds", type=int, default=2, help="runs of each verify mode, alternately (2)")
    parser.add_argument("--proofs", type=int, default=500, help="proofs of each kind (500)")
    parser.add_argument("--tamper-check", action="store_true", help="finally, tamper with the log and verify")
    parser.add_argument("--pgdata", type=Path, default=ROOT / ".pgdata", help="the embedded server's data folder")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    database = BENCH_DB
    if args.smoke:
        args.events, args.appends, args.rounds, args.processes, args.concurrent_seconds = 10_000, 200, 2, [2], 0.5
        args.verify_rounds, args.proofs, args.tamper_check = 1, 20, True
        database = smoke_database(BENCH_DB)
    args.appends = max(args.rounds, min(args.appends, args.events // 10))

    started = time.perf_counter()
    host = machine()
    results: dict = {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "load_at_start": load_average(),
    }
    print(f"machine: {host}, load average {results['load_at_start']}", flush=True)
    socket_dir = create_bench_database(args.pgdata, database)
    with tempfile.TemporaryDirectory(prefix="govern-bench-") as var_dir:
        setup_django(socket_dir, var_dir, database)
        try:
            from apps.audit import services

            server = server_settings()
            print(f"server: {server}", flush=True)
            print(f"1. appends, each its own transaction: {args.appends:,} calls of each kind, interleaved", flush=True)
            results["appends"] = bench_appends(args.appends, args.rounds, debug=False)
            print(f"   {results['appends']}", flush=True)
            results["appends_debug"] = bench_appends(args.appends // 4, 2, debug=True, names=["bare", "record"])
            print(f"   DEBUG=true: {results['appends_debug']}", flush=True)
            results["batched"] = bench_batched(args.appends // 4)
            results["without_flush"] = bench_without_flush(args.appends // 4)
            print(f"   batched: {results['batched']}, without flush: {results['without_flush']}", flush=True)
            results["concurrent"] = []
            for processes in args.processes:
                results["concurrent"].append(bench_concurrent(processes, args.concurrent_seconds))
                print(f"   concurrent: {results['concurrent'][-1]}", flush=True)
            results["canonical_checked"] = check_canonical_form()
            print(f"   {results['canonical_checked']:,} events so far are byte-for-byte canonical", flush=True)
            services.sign_checkpoint()
            print(f"2. fill to {args.events:,} events", flush=True)
            results["fill"] = fill(args.events)
            checkpoint = services.sign_checkpoint()
            if checkpoint.tree_size != args.events:
                print(f"   the appends alone made {checkpoint.tree_size:,} events, more than --events", flush=True)
            results["sizes"] = table_sizes()
            print(f"   {results['fill']}, sizes {results['sizes']}", flush=True)
            print("3. verify, with and without the column check", flush=True)
            results["verify"] = bench_verify(args.verify_rounds)
            print(f"4. {args.proofs} inclusion and {args.proofs} consistency proofs", flush=True)
            results["proofs"] = bench_proofs(args.proofs)
            print(f"   {results['proofs']}", flush=True)
            if args.tamper_check:
                results["tamper"] = tamper_check()
            print_report(args, host, server, results, time.perf_counter() - started)
        finally:
            if args.keep:
                print(f"kept database {database}: DATABASE_URL=postgresql://postgres@/{database}?host={socket_dir}")
            else:
                drop_bench_database(socket_dir, database)
    return 0


if __name__ == "__main__":
    stop_on_terminate()
    sys.exit(main())
