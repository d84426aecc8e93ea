"""Audit log benchmark (issue 2): append rate, bulk fill, verify rate and proof times at N events.

    .venv/bin/python benchmarks/audit_bench.py [--events N] [--appends M] [--keep]

Runs against a dedicated database `govern_bench` on the embedded PostgreSQL server (`.pgdata/`), dropped and
created afresh, never the developer's `govern` database nor the test database. Django's secret and the signing
key go to a temporary folder, so nothing under `var/` is touched.

Besides the code as it stands, the run measures prototypes of the changes proposed in docs/benchmarks.md
(`proto_*` below): they write and read exactly the same rows, and every result they give is compared with the
current code's. They live here only; nothing in `apps/` is patched.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import hashlib
import json
import multiprocessing
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
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
        with open("/proc/loadavg") as handle:
            load = handle.read().split()[0]
        return f"CPUs {machine_busy:.0f}% busy (this script's Python: {own:.0f}% of all CPUs), load {load}"


def create_bench_database(pgdata: Path) -> str:
    """Start (or attach to) the embedded server, recreate the bench database and return the socket folder."""
    import psycopg

    from govern import embedded_db

    socket_dir = embedded_db.database_settings(pgdata)["HOST"]
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return socket_dir


def drop_bench_database(socket_dir: str) -> None:
    """Drop the bench database (after closing Django's connections to it)."""
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def setup_django(socket_dir: str, var_dir: str) -> None:
    """Point Django at the bench database, with development settings and a throwaway var folder, and migrate."""
    for name in ("DATABASE_URL_FILE", "DEBUG_FILE", "GOVERN_VAR_DIR_FILE"):
        os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "govern.settings.base"
    os.environ["DEBUG"] = "true"
    os.environ["DATABASE_URL"] = f"postgresql://postgres@/{BENCH_DB}?host={socket_dir}"
    os.environ["GOVERN_VAR_DIR"] = var_dir  # dev secret and (unless configured) signing key land here, not in var/
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    database = settings.DATABASES["default"]
    assert database["NAME"] == BENCH_DB and database["HOST"] == socket_dir, database
    call_command("migrate", verbosity=0)


def server_settings() -> dict[str, str]:
    """The server settings that decide commit cost, as the server reports them."""
    from django.db import connection

    names = ["server_version", "fsync", "synchronous_commit", "wal_sync_method", "full_page_writes", "commit_delay"]
    names += ["shared_buffers", "max_wal_size", "max_parallel_workers_per_gather"]
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


# --- Prototypes of the proposed changes (benchmark only) ----------------------------------------------------------

_PROTO_APPEND = (
    "WITH event AS (INSERT INTO audit_event (seq, created_at, actor_id, actor_username, request_id, action, "
    "target_type, target_id, reason, canonical, leaf_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)), "
    'nodes AS (INSERT INTO audit_treenode (level, "index", hash) '
    "SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[])) "
    "UPDATE audit_loghead SET size = %s, frontier = %s WHERE id = 1"
)


def proto_record(action: str, target, actor, data: dict | None = None, reason: str = ""):
    """services.record() with its ORM calls replaced by two SQL statements: same lock, same rows, same result."""
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.audit import merkle, registry, services
    from apps.audit.context import current_request_id
    from apps.audit.models import Event

    registry.get(action)
    described = services.Target.of(target)
    actor_id, actor_username = services._actor(actor)
    reason = (reason or "").strip()
    if len(reason) > services.MAX_REASON_LENGTH:
        raise services.AuditDataError(f"Reason is longer than {services.MAX_REASON_LENGTH} characters.")
    payload_json = json.loads(services.canonical_json(data or {}))
    request_id = current_request_id()

    scope = nullcontext() if connection.in_atomic_block else transaction.atomic()
    with scope, connection.cursor() as cursor:
        cursor.execute("SELECT size, frontier FROM audit_loghead WHERE id = 1 FOR UPDATE")
        row = cursor.fetchone()
        if row is None:
            cursor.execute("INSERT INTO audit_loghead (id, size, frontier) VALUES (1, 0, '') ON CONFLICT DO NOTHING")
            cursor.execute("SELECT size, frontier FROM audit_loghead WHERE id = 1 FOR UPDATE")
            row = cursor.fetchone()
        seq, frontier = row
        created_at = timezone.now()
        body = {
            "v": 1,
            "seq": seq,
            "time": services.format_time(created_at),
            "actor_id": actor_id,
            "actor": actor_username,
            "request_id": str(request_id),
            "action": action,
            "target_type": described.type,
            "target_id": described.id,
            "reason": reason,
            "data": payload_json,
        }
        canonical = services.canonical_json(body)
        leaf = merkle.leaf_hash(canonical.encode())
        edge = merkle.CompactRange.from_bytes(seq, bytes(frontier))
        completed = edge.append(leaf)
        cursor.execute(
            _PROTO_APPEND,
            [seq, created_at, actor_id, actor_username, request_id, action, described.type, described.id, reason,
             canonical, leaf, [c[0] for c in completed], [c[1] for c in completed], [c[2] for c in completed],
             edge.size, edge.to_bytes()],
        )  # fmt: skip
    event = Event(
        seq=seq, created_at=created_at, actor_id=actor_id, actor_username=actor_username, request_id=request_id,
        action=action, target_type=described.type, target_id=described.id, reason=reason, canonical=canonical,
        leaf_hash=leaf,
    )  # fmt: skip
    event._state.adding = False
    event._state.db = connection.alias
    return event


# The whole append as one server-side function: one statement, so in autocommit it is one round trip and one
# commit, and the head row is locked for the length of one statement. Python still writes every byte of the
# canonical JSON except the two values only the locked head can give: seq and time (they sort after "data", so
# the text splits around them without ambiguity). Created in the bench database only.
_PROTO_FUNCTION = r"""
CREATE OR REPLACE FUNCTION bench_audit_append(
    p_before_seq text, p_before_time text, p_after_time text, p_actor_id bigint, p_actor text, p_request_id uuid,
    p_action text, p_target_type text, p_target_id text, p_reason text,
    OUT o_seq bigint, OUT o_created_at timestamptz, OUT o_canonical text, OUT o_leaf bytea
) LANGUAGE plpgsql AS $$
DECLARE
    v_frontier bytea;
    v_value bytea;
    v_pending bigint;
    v_level int := 0;
    v_cut int;
BEGIN
    SELECT size, frontier INTO o_seq, v_frontier FROM audit_loghead WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_loghead (id, size, frontier) VALUES (1, 0, '') ON CONFLICT DO NOTHING;
        SELECT size, frontier INTO o_seq, v_frontier FROM audit_loghead WHERE id = 1 FOR UPDATE;
    END IF;
    o_created_at := date_trunc('microseconds', clock_timestamp());
    o_canonical := p_before_seq || o_seq || p_before_time
        || to_char(o_created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') || p_after_time;
    o_leaf := sha256('\x00'::bytea || convert_to(o_canonical, 'UTF8'));
    INSERT INTO audit_event (seq, created_at, actor_id, actor_username, request_id, action, target_type, target_id,
                             reason, canonical, leaf_hash)
    VALUES (o_seq, o_created_at, p_actor_id, p_actor, p_request_id, p_action, p_target_type, p_target_id, p_reason,
            o_canonical, o_leaf);
    v_value := o_leaf;
    v_pending := o_seq;
    WHILE v_pending & 1 = 1 LOOP  -- CompactRange.append
        v_cut := length(v_frontier) - 32;
        v_value := sha256('\x01'::bytea || substring(v_frontier FROM v_cut + 1) || v_value);
        v_frontier := substring(v_frontier FROM 1 FOR v_cut);
        v_level := v_level + 1;
        v_pending := v_pending >> 1;
        INSERT INTO audit_treenode (level, "index", hash) VALUES (v_level, ((o_seq + 1) >> v_level) - 1, v_value);
    END LOOP;
    UPDATE audit_loghead SET size = o_seq + 1, frontier = v_frontier || v_value WHERE id = 1;
END
$$;
"""

_SEQ_MARK, _TIME_MARK = ',"seq":-1,', ',"time":"-","v":'


def proto_record_sql(action: str, target, actor, data: dict | None = None, reason: str = ""):
    """record() as one call of a PL/pgSQL function (bench_audit_append): same rows, same lock, one round trip."""
    from django.db import connection

    from apps.audit import registry, services
    from apps.audit.context import current_request_id
    from apps.audit.models import Event

    registry.get(action)
    described = services.Target.of(target)
    actor_id, actor_username = services._actor(actor)
    reason = (reason or "").strip()
    if len(reason) > services.MAX_REASON_LENGTH:
        raise services.AuditDataError(f"Reason is longer than {services.MAX_REASON_LENGTH} characters.")
    request_id = current_request_id()
    body = {
        "v": 1,
        "seq": -1,
        "time": "-",
        "actor_id": actor_id,
        "actor": actor_username,
        "request_id": str(request_id),
        "action": action,
        "target_type": described.type,
        "target_id": described.id,
        "reason": reason,
        "data": json.loads(services.canonical_json(data or {})),
    }
    text = services.canonical_json(body)
    # "seq" and "time" are top-level keys sorting after "data"; everything after "data" is plain strings, in which
    # a quote is always escaped, so the last occurrence of each mark is the key itself.
    seq_at, time_at = text.rindex(_SEQ_MARK), text.rindex(_TIME_MARK)
    before_seq = text[:seq_at] + ',"seq":'
    before_time = text[seq_at + len(_SEQ_MARK) - 1 : time_at] + ',"time":"'
    after_time = '","v":' + text[time_at + len(_TIME_MARK) :]
    with connection.cursor() as cursor:  # one statement: atomic by itself, or part of the caller's transaction
        cursor.execute(
            "SELECT * FROM bench_audit_append(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [before_seq, before_time, after_time, actor_id, actor_username, request_id, action, described.type,
             described.id, reason],
        )  # fmt: skip
        seq, created_at, canonical, leaf = cursor.fetchone()
    event = Event(
        seq=seq, created_at=created_at, actor_id=actor_id, actor_username=actor_username, request_id=request_id,
        action=action, target_type=described.type, target_id=described.id, reason=reason, canonical=canonical,
        leaf_hash=bytes(leaf),
    )  # fmt: skip
    event._state.adding = False
    event._state.db = connection.alias
    return event


_PROTO_NODES = (
    "SELECT 0, seq, leaf_hash FROM audit_event WHERE seq = ANY(%s::bigint[]) UNION ALL "
    'SELECT t.level, t."index", t.hash FROM audit_treenode t '
    'JOIN unnest(%s::smallint[], %s::bigint[]) AS k(level, idx) ON t.level = k.level AND t."index" = k.idx'
)


def _proto_sizes(cursor) -> tuple[int, int | None]:
    cursor.execute(
        "SELECT (SELECT size FROM audit_loghead WHERE id = 1), (SELECT max(tree_size) FROM audit_checkpoint)"
    )
    log_size, latest = cursor.fetchone()
    return log_size or 0, latest


def _proto_fetch(cursor, keys: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    from apps.audit.proofs import ProofError

    leaves = [index for level, index in keys if level == 0]
    inner = [key for key in keys if key[0] > 0]
    cursor.execute(_PROTO_NODES, [leaves, [level for level, _ in inner], [index for _, index in inner]])
    found = {(level, index): bytes(value) for level, index, value in cursor.fetchall()}
    missing = keys - found.keys()
    if missing:
        raise ProofError(f"The log is missing tree nodes {sorted(missing)[:5]}; run `manage.py audit verify`.")
    return found


def proto_inclusion(seq: int, size: int | None = None):
    """proofs.inclusion() in two queries (sizes; every node of path and root at once) instead of seven."""
    from django.db import connection

    from apps.audit import merkle
    from apps.audit.proofs import InclusionProof, ProofError

    with connection.cursor() as cursor:
        log_size, latest = _proto_sizes(cursor)
        if size is None:
            size = latest if latest is not None else log_size
        if size < 0 or size > log_size:
            raise ProofError(f"Tree size {size} is outside the log (0 to {log_size}).")
        if seq < 0 or seq >= size:
            raise ProofError(f"Event {seq} is not in a tree of {size} events.")
        keys = merkle.nodes_needed(merkle.inclusion_proof, seq, size) | merkle.nodes_needed(merkle.range_hash, 0, size)
        nodes = _proto_fetch(cursor, keys | {(0, seq)})

    def node(level: int, index: int) -> bytes:
        return nodes[(level, index)]

    path = merkle.inclusion_proof(seq, size, node)
    return InclusionProof(seq, size, nodes[(0, seq)], path, merkle.range_hash(0, size, node))


def proto_consistency(first: int, second: int):
    """proofs.consistency() in two queries instead of eight."""
    from django.db import connection

    from apps.audit import merkle
    from apps.audit.proofs import ConsistencyProof, ProofError

    with connection.cursor() as cursor:
        log_size, _ = _proto_sizes(cursor)
        for size in (first, second):
            if size < 0 or size > log_size:
                raise ProofError(f"Tree size {size} is outside the log (0 to {log_size}).")
        if first > second:
            raise ProofError(f"The first size ({first}) must not exceed the second ({second}).")
        keys: set[tuple[int, int]] = set()
        if first not in (0, second):
            keys |= merkle.nodes_needed(merkle.consistency_proof, first, second)
        for size in (first, second):
            if size:
                keys |= merkle.nodes_needed(merkle.range_hash, 0, size)
        nodes = _proto_fetch(cursor, keys) if keys else {}

    def node(level: int, index: int) -> bytes:
        return nodes[(level, index)]

    def root(size: int) -> bytes:
        return merkle.range_hash(0, size, node) if size else merkle.EMPTY_ROOT

    proof = [] if first in (0, second) else merkle.consistency_proof(first, second, node)
    return ConsistencyProof(first, second, root(first), root(second), proof)


def _proto_leaves(report, chunk: int = 100_000) -> list[bytes] | None:
    """Every leaf recomputed from canonical texts fetched in bulk (one string per 100,000 events, split on newlines).

    Canonical JSON never holds a raw newline, so the split is exact for an intact log; anything else (a gap, a
    changed event, a newline) makes the computed leaves differ from the stored ones and returns None, which sends
    verify to the row-by-row path (verification._leaves) that names the event.
    """
    from django.db import connection

    sha256 = hashlib.sha256
    leaves: list[bytes] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), min(seq), max(seq) FROM audit_event")
        count, low, high = cursor.fetchone()
        if count and (low != 0 or high != count - 1):
            return None  # a gap
        for start in range(0, count, chunk):
            cursor.execute(
                "SELECT string_agg(canonical, E'\\n' ORDER BY seq), string_agg(leaf_hash, ''::bytea ORDER BY seq) "
                "FROM audit_event WHERE seq >= %s AND seq < %s",
                [start, start + chunk],
            )
            texts, stored = cursor.fetchone()
            computed = [sha256(b"\x00" + text).digest() for text in texts.encode().split(b"\n")]
            if b"".join(computed) != bytes(stored):
                return None
            leaves += computed
    report.events = count
    return leaves


# The planner prices a JSON parse like any function call and so keeps this scan in one process; it is CPU-bound,
# and two workers halve it. (SET LOCAL would outlive the savepoint, hence the explicit RESET.)
_PARALLEL = "SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0"
_SERIAL = "RESET parallel_setup_cost; RESET parallel_tuple_cost"


def _proto_column_sql() -> str:
    from apps.audit import verification as v

    record = ", ".join(f'"{key}" {cast}' for _, key, cast in v._COLUMNS)
    mismatch = " OR ".join(f'j."{key}" IS DISTINCT FROM e.{column}' for column, key, _ in v._COLUMNS)
    columns = ", ".join(f"e.{column}" for column, _, _ in v._COLUMNS)
    # No ORDER BY, so the scan may run in parallel; the few rows found are sorted in Python.
    return (
        f"SELECT e.canonical, {columns} FROM audit_event e, jsonb_to_record(e.canonical::jsonb) AS j({record}) "
        f"WHERE {mismatch}"
    )


def _proto_column_check(report) -> None:
    """verification._column_check parsing each canonical text once (jsonb_to_record) instead of nine times."""
    from django.db import DataError, connection, transaction

    from apps.audit import verification as v

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_PARALLEL)
            cursor.execute(_proto_column_sql())
            rows = sorted(cursor.fetchall(), key=lambda row: row[1])
            cursor.execute(_SERIAL)
    except DataError:
        v._python_column_check(report)
        return
    for canonical, *row in rows:
        column = v._differing_column(json.loads(canonical), tuple(row)) or "a column"
        report.problems.append(v.Problem(row[0], f"{column} differs from what was hashed"))


def _proto_tree_node_check(report, levels: list[list[bytes]]) -> None:
    """Compare each stored level as one string; only if one differs, run the row-by-row check that names it."""
    from django.db import connection

    from apps.audit import verification as v

    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT level, count(*), min("index"), max("index"), string_agg(hash, \'\' ORDER BY "index") '
            "FROM audit_treenode GROUP BY level ORDER BY level"
        )
        rows = cursor.fetchall()
    seen = 0
    intact = True
    for level, count, low, high, blob in rows:
        seen += count
        expected = levels[level] if 1 <= level < len(levels) else []
        if (low, high, count) != (0, len(expected) - 1, len(expected)) or bytes(blob) != b"".join(expected):
            intact = False
    if not intact or seen != sum(len(level) for level in levels[1:]):
        v._tree_node_check(report, levels)
        return
    report.tree_nodes = seen


def proto_verify(column_check: bool = True):
    """verification.verify() with the three prototypes above; returns the report and the time of each step."""
    from django.db import connection, transaction

    from apps.audit import verification as v

    report = v.Report()
    steps: dict[str, float] = {}
    clock = time.perf_counter
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        t = clock()
        leaves = _proto_leaves(report)
        if leaves is None:
            leaves = v._leaves(report)
        steps["leaves"] = clock() - t
        if column_check:
            t = clock()
            _proto_column_check(report)
            steps["column_check"] = clock() - t
        t = clock()
        levels = v._levels(leaves)
        steps["_levels"] = clock() - t
        t = clock()
        _proto_tree_node_check(report, levels)
        steps["tree_node_check"] = clock() - t
        t = clock()
        v._checkpoint_check(report, levels)
        v._head_check(report, levels)
        steps["checkpoints+head"] = clock() - t
    report.problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return report, steps


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


def _append_functions() -> dict:
    from django.db import connection, transaction

    from apps.audit import context, services

    body = services.canonical_json({"seq": 0, "data": payload(0), "pad": "x" * 200})  # about an event's size

    def bare(_i: int) -> None:
        with connection.cursor() as cursor:  # autocommit: the statement is its own transaction and commit
            cursor.execute(f"INSERT INTO {SCRATCH} (body) VALUES (%s)", [body])

    def bare_atomic(i: int) -> None:
        with transaction.atomic():  # BEGIN; INSERT; COMMIT: the round trips record()'s own transaction pays too
            bare(i)

    def audit(i: int) -> None:
        context.begin_request()  # each event is its own unit of work, as in a web request
        services.record(ACTION, (TARGET_TYPE, i), None, data=payload(i))

    def audit_proto(i: int) -> None:
        context.begin_request()
        proto_record(ACTION, (TARGET_TYPE, i), None, data=payload(i))

    def audit_sql(i: int) -> None:
        context.begin_request()
        proto_record_sql(ACTION, (TARGET_TYPE, i), None, data=payload(i))

    functions = {"bare": bare, "bare_atomic": bare_atomic, "audit": audit, "audit_proto": audit_proto}
    return functions | {"audit_sql": audit_sql}


def bench_appends(appends: int, rounds: int, debug: bool) -> dict:
    """record() (one transaction each) against bare single-row commits and the prototype, interleaved in rounds."""
    from django.conf import settings
    from django.db import connection

    assert not connection.in_atomic_block and connection.get_autocommit()
    settings.DEBUG = debug
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {SCRATCH} (id bigserial PRIMARY KEY, body text NOT NULL)")
        cursor.execute(_PROTO_FUNCTION)
    functions = _append_functions()
    counter = 10_000_000 if debug else 20_000_000  # target ids only; the log assigns seq
    for fn in functions.values():  # warm-up: connection, plans, caches
        _timed(fn, 100, counter)
        counter += 100
    per_round = max(1, appends // rounds)
    latencies = {name: [] for name in functions}
    totals = dict.fromkeys(functions, 0.0)
    load = Load()
    for _ in range(rounds):
        for name, fn in functions.items():
            count = per_round // 4 if name == "bare_atomic" else per_round
            t0 = time.perf_counter()
            latencies[name] += _timed(fn, max(1, count), counter)
            totals[name] += time.perf_counter() - t0
            counter += count
    result = _rates(latencies, totals)
    result["load"] = load.done()
    result["debug"] = debug
    settings.DEBUG = True
    return result


def bench_batched(count: int, batch: int = 100) -> dict:
    """Many events in one transaction (as a worker writing deletion receipts could): the cost without the commit."""
    from django.db import transaction

    functions = _append_functions()
    result = {"batch": batch}
    counter = 30_000_000
    for name in ("audit", "audit_proto", "audit_sql"):
        fn = functions[name]
        t0 = time.perf_counter()
        for _ in range(max(1, count // batch)):
            with transaction.atomic():
                for _ in range(batch):
                    fn(counter)
                    counter += 1
        result[name] = max(1, count // batch) * batch / (time.perf_counter() - t0)
    return result


def _worker(name: str, barrier, stop, counts, slot: int) -> None:
    fn = _append_functions()[name]
    fn(-1 - slot)  # connect and warm up before the clock starts
    barrier.wait()
    done = 0
    while not stop.is_set():
        fn(slot * 1_000_000 + done)
        done += 1
    counts[slot] = done
    from django.db import connections

    connections.close_all()


def bench_concurrent(processes: int, seconds: float) -> dict:
    """Appends and bare commits from several processes at once (like web workers): is the head lock a bottleneck?"""
    from django.db import connections

    from apps.audit import services

    context = multiprocessing.get_context("fork")
    result: dict = {"processes": processes}
    before = services.tree_size()
    load = Load()
    for name in ("bare", "audit", "audit_proto", "audit_sql"):
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
        result[name] = sum(counts) / (time.perf_counter() - t0)
    result["appended"] = services.tree_size() - before
    result["load"] = load.done()
    return result


def check_canonical_form() -> int:
    """Every event so far (current code and prototypes alike) holds exactly the bytes services.record() writes.

    verify() compares parsed values, so it would not notice, say, a time written with fewer digits; this does.
    """
    from django.db import connection

    from apps.audit import services

    count = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, created_at, canonical FROM audit_event ORDER BY seq")
        for seq, created_at, canonical in cursor.fetchall():
            body = json.loads(canonical)
            assert services.canonical_json(body) == canonical, seq
            assert body["time"] == services.format_time(created_at) and body["seq"] == seq, seq
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
            head = LogHead.objects.select_for_update().get(pk=1)  # the same lock record() takes
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
                        copy.write_row(
                            (
                                seq,
                                created_at,
                                None,
                                actor,
                                request_id,
                                ACTION,
                                TARGET_TYPE,
                                str(seq),
                                "",
                                canonical,
                                leaf,
                            )
                        )
                        nodes += edge.append(leaf)
                with cursor.copy('COPY audit_treenode (level, "index", hash) FROM STDIN') as copy:
                    for row in nodes:
                        copy.write_row(row)
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


def bench_verify(rounds: int) -> dict:
    """verify() and the prototype, alternately `rounds` times; verify()'s steps are timed by wrapping them."""
    from django.db import connection, transaction

    from apps.audit import verification as v

    names = ["_leaves", "_column_check", "_levels", "_tree_node_check", "_checkpoint_check", "_head_check"]
    runs: list[dict] = []
    for _ in range(rounds):
        steps: dict[str, float] = {}
        originals = _timed_steps(v, names, steps)
        try:
            gc.collect()
            load = Load()
            t0 = time.perf_counter()
            report = v.verify()
            total = time.perf_counter() - t0
        finally:
            for name, fn in originals.items():
                setattr(v, name, fn)
        assert report.ok, [str(p) for p in report.problems[:5]]
        runs.append({"kind": "verify", "seconds": total, "steps": steps, "load": load.done()})

        gc.collect()
        load = Load()
        t0 = time.perf_counter()
        proto, proto_steps = proto_verify()
        proto_total = time.perf_counter() - t0
        counts = (proto.events, proto.tree_nodes, proto.checkpoints)
        assert proto.ok and counts == (report.events, report.tree_nodes, report.checkpoints), proto
        runs.append({"kind": "proto", "seconds": proto_total, "steps": proto_steps, "load": load.done()})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_PARALLEL)
        cursor.execute("EXPLAIN " + _proto_column_sql())
        plan = [row[0].strip() for row in cursor.fetchall()]
        cursor.execute(_SERIAL)
    best = min((r for r in runs if r["kind"] == "verify"), key=lambda r: r["seconds"])
    best_proto = min((r for r in runs if r["kind"] == "proto"), key=lambda r: r["seconds"])
    without = best_proto["seconds"] - best_proto["steps"]["column_check"]
    return {
        "events": report.events,
        "tree_nodes": report.tree_nodes,
        "checkpoints": report.checkpoints,
        "runs": runs,
        "seconds": best["seconds"],
        "rate": report.events / best["seconds"],
        "steps": best["steps"],
        "proto_seconds": best_proto["seconds"],
        "proto_rate": report.events / best_proto["seconds"],
        "proto_steps": best_proto["steps"],
        "proto_rate_without_column_check": report.events / without,
        "proto_column_plan": next((line for line in plan if "Workers Planned" in line), "not parallel"),
    }


def tamper_check() -> list[str]:
    """Alter the bench log behind the triggers; the prototype verify must report what verify() reports."""
    from django.db import connection

    from apps.audit import verification as v

    with connection.cursor() as cursor:
        cursor.execute("SELECT size FROM audit_loghead WHERE id = 1")
        size = cursor.fetchone()[0]
        a, b, c = size // 5, size // 2, size - 3
        cursor.execute("SET session_replication_role = replica")  # superuser only: skips the append-only triggers
        cursor.execute("UPDATE audit_event SET action = 'account.create' WHERE seq = %s", [a])
        cursor.execute("UPDATE audit_event SET canonical = replace(canonical, 'bench', 'bunch') WHERE seq = %s", [b])
        cursor.execute('UPDATE audit_treenode SET hash = sha256(hash) WHERE level = 3 AND "index" = %s', [(c >> 3) - 1])
        cursor.execute("SET session_replication_role = DEFAULT")
    expected = [str(p) for p in v.verify().problems]
    found = [str(p) for p in proto_verify()[0].problems]
    assert found == expected and len(expected) >= 3, (expected, found)
    return expected


# --- 4. Proofs ------------------------------------------------------------------------------------------------------


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "median_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max_ms": 1000 * ordered[-1],
    }


def bench_proofs(count: int, seed: int = 2) -> dict:
    """Inclusion and consistency proofs at random positions, current code and prototype interleaved; all checked."""
    from django.db import connection, reset_queries

    from apps.audit import proofs, verifier
    from apps.audit.models import Checkpoint

    latest = Checkpoint.objects.order_by("-tree_size").first()
    size, root = latest.tree_size, bytes(latest.root_hash)
    rng = random.Random(seed)
    for _ in range(20):  # warm-up
        proofs.inclusion(rng.randrange(size))
        proto_inclusion(rng.randrange(size))
    times: dict[str, list[float]] = {"inclusion": [], "inclusion_proto": [], "consistency": [], "consistency_proto": []}
    queries: dict[str, list[int]] = {name: [] for name in times}
    clock = time.perf_counter
    load = Load()

    def timed(name, fn, *args):
        reset_queries()
        t0 = clock()
        result = fn(*args)
        times[name].append(clock() - t0)
        queries[name].append(len(connection.queries))
        return result

    for _ in range(count):
        seq = rng.randrange(size)
        proof = timed("inclusion", proofs.inclusion, seq)
        assert timed("inclusion_proto", proto_inclusion, seq) == proof
        assert proof.tree_size == size and proof.root_hash == root
        assert verifier.verify_inclusion(seq, size, proof.leaf_hash, proof.audit_path, proof.root_hash), seq
    for _ in range(count):
        first, second = sorted((rng.randint(1, size), rng.randint(1, size)))
        proof = timed("consistency", proofs.consistency, first, second)
        assert timed("consistency_proto", proto_consistency, first, second) == proof
        ok = verifier.verify_consistency(first, second, proof.first_root, proof.second_root, proof.proof)
        assert ok and (second != size or proof.second_root == root), (first, second)
    # The whole log is consistent with its first signed checkpoint, checked against both signed roots.
    oldest = Checkpoint.objects.order_by("tree_size").first()
    proof = proofs.consistency(oldest.tree_size, size)
    assert verifier.verify_consistency(oldest.tree_size, size, bytes(oldest.root_hash), root, proof.proof)
    result = {name: _summary(values) | {"queries": statistics.median(queries[name])} for name, values in times.items()}
    result["tree_size"] = size
    result["load"] = load.done()
    return result


# --- Report ---------------------------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _append_row(r: dict) -> str:
    return f"{r['rate']:,.0f}/s (p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms)"


def print_report(args, host: dict, server: dict, results: dict, total_seconds: float) -> None:
    """Print a Markdown summary for docs/benchmarks.md."""
    appends, production, concurrent = results["appends"], results.get("appends_production"), results.get("concurrent")
    fill_result, verify_result, proof_result = results["fill"], results["verify"], results["proofs"]
    a, b, ba, ap = appends["audit"], appends["bare"], appends["bare_atomic"], appends["audit_proto"]
    asql = appends["audit_sql"]
    v = verify_result
    verify_runs = [r["seconds"] for r in v["runs"] if r["kind"] == "verify"]
    proto_runs = [r["seconds"] for r in v["runs"] if r["kind"] == "proto"]
    lines = [
        "",
        "=" * 120,
        f"command : .venv/bin/python benchmarks/audit_bench.py {' '.join(sys.argv[1:])}".rstrip(),
        f"date    : {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}",
        f"machine : {host['nproc']} CPUs ({host['cpu']}), {host['ram']} RAM, Linux {host['kernel']}, "
        f"Python {host['python']}",
        f"server  : PostgreSQL {server['server_version']} (embedded, Unix socket); fsync={server['fsync']}, "
        f"synchronous_commit={server['synchronous_commit']}, wal_sync_method={server['wal_sync_method']}, "
        f"full_page_writes={server['full_page_writes']}, commit_delay={server['commit_delay']}, "
        f"shared_buffers={server['shared_buffers']}, "
        f"max_parallel_workers_per_gather={server['max_parallel_workers_per_gather']}",
        "",
        "| measure | result | target | verdict |",
        "| --- | --- | --- | --- |",
        f"| append: `record()`, own transaction, DEBUG=true ({a['count']:,}) | {_append_row(a)} "
        f"| ≥ {TARGET_APPENDS:,}/s | {_verdict(a['rate'] >= TARGET_APPENDS)} |",
        f"| baseline: bare 1-row INSERT, autocommit ({b['count']:,}) | {_append_row(b)} | | |",
        f"| baseline: BEGIN; INSERT; COMMIT ({ba['count']:,}) | {_append_row(ba)} | | |",
        f"| **ratio** append / bare commit | {a['rate'] / b['rate']:.2f} "
        f"(append / BEGIN-INSERT-COMMIT {a['rate'] / ba['rate']:.2f}) | | |",
        f"| prototype `proto_record()` ({ap['count']:,}) | {_append_row(ap)}; "
        f"ratio to bare {ap['rate'] / b['rate']:.2f} "
        f"| ≥ {TARGET_APPENDS:,}/s | {_verdict(ap['rate'] >= TARGET_APPENDS)} |",
        f"| prototype `proto_record_sql()` ({asql['count']:,}) | {_append_row(asql)}; "
        f"ratio to bare {asql['rate'] / b['rate']:.2f} "
        f"| ≥ {TARGET_APPENDS:,}/s | {_verdict(asql['rate'] >= TARGET_APPENDS)} |",
    ]
    if production:
        pa, pb, pp, ps = (production[name] for name in ("audit", "bare", "audit_proto", "audit_sql"))
        lines.append(
            f"| DEBUG=false: record() / proto_record / proto_record_sql / bare ({pa['count']:,} each) | "
            f"{pa['rate']:,.0f} / {pp['rate']:,.0f} / {ps['rate']:,.0f} / {pb['rate']:,.0f} per s "
            f"(ratios to bare {pa['rate'] / pb['rate']:.2f} / {pp['rate'] / pb['rate']:.2f} / "
            f"{ps['rate'] / pb['rate']:.2f}) | | |"
        )
    batched = results.get("batched")
    if batched:
        lines.append(
            f"| {batched['batch']} events per transaction: record() / proto_record / proto_record_sql | "
            f"{batched['audit']:,.0f} / {batched['audit_proto']:,.0f} / {batched['audit_sql']:,.0f} per s | | |"
        )
    if concurrent:
        c = concurrent
        lines.append(
            f"| {c['processes']} processes at once: record() / proto_record / proto_record_sql / bare | "
            f"{c['audit']:,.0f} / {c['audit_proto']:,.0f} / {c['audit_sql']:,.0f} / {c['bare']:,.0f} per s "
            f"(ratios to bare {c['audit'] / c['bare']:.2f} / {c['audit_sql'] / c['bare']:.2f}) | | |"
        )
    lines += [
        f"| fill to {args.events:,} (COPY, {fill_result['events']:,} events, {fill_result['nodes']:,} nodes) | "
        f"{fill_result['seconds']:.0f} s ({fill_result['events'] / fill_result['seconds']:,.0f} events/s) "
        f"+ VACUUM ANALYZE {fill_result['vacuum_seconds']:.0f} s | | |",
        f"| `verify()` at {v['events']:,} events ({v['tree_nodes']:,} nodes, {v['checkpoints']} checkpoints), "
        f"best of {len(verify_runs)} | {v['seconds']:.1f} s = {v['rate']:,.0f} events/s "
        f"(all runs: {', '.join(f'{r:.1f} s' for r in verify_runs)}) | ≥ {TARGET_VERIFY:,}/s | "
        f"{_verdict(v['rate'] >= TARGET_VERIFY)} |",
        "| `verify()` steps in that run | "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in v["steps"].items())
        + " | | |",
        f"| prototype `proto_verify()`, best of {len(proto_runs)} | {v['proto_seconds']:.1f} s = "
        f"{v['proto_rate']:,.0f} events/s (all runs: {', '.join(f'{r:.1f} s' for r in proto_runs)}) | "
        f"≥ {TARGET_VERIFY:,}/s | {_verdict(v['proto_rate'] >= TARGET_VERIFY)} |",
        "| prototype steps in that run | "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in v["proto_steps"].items())
        + f"; without the column check {v['proto_rate_without_column_check']:,.0f} events/s; "
        f"column check plan: {v['proto_column_plan']} | | |",
    ]
    for kind in ("inclusion", "consistency"):
        for name, label in ((kind, f"`proofs.{kind}()`"), (f"{kind}_proto", f"prototype `proto_{kind}()`")):
            p = proof_result[name]
            ok = p["median_ms"] <= TARGET_PROOF_MS and p["p99_ms"] <= TARGET_PROOF_MS
            lines.append(
                f"| {label} at {proof_result['tree_size']:,} ({p['count']} random, all verified) | "
                f"median {p['median_ms']:.2f} ms, p99 {p['p99_ms']:.2f} ms, max {p['max_ms']:.2f} ms, "
                f"{p['queries']:.0f} queries | ≤ {TARGET_PROOF_MS:.0f} ms | {_verdict(ok)} |"
            )
    lines += ["", "machine load during each phase (another developer shares this machine):"]
    for name, value in results.items():
        if name == "verify":
            for number, run in enumerate(v["runs"]):
                lines.append(f"  verify round {number // 2 + 1}, {run['kind']}: {run['load']}")
        elif isinstance(value, dict) and "load" in value:
            lines.append(f"  {name}: {value['load']}")
    lines.append(f"table sizes: {results['sizes']}; whole run {total_seconds:.0f} s")
    if results.get("tamper"):
        lines.append(f"tamper check: verify() and proto_verify() both report {results['tamper']}")
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="log size for verify and proofs (1,000,000)")
    parser.add_argument("--appends", type=int, default=20_000, help="record() calls timed one by one (20,000)")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds of appends and baselines (8)")
    parser.add_argument("--processes", type=int, default=4, help="processes for the concurrent run (0 skips it)")
    parser.add_argument("--verify-rounds", type=int, default=2, help="verify() and prototype, alternately (2)")
    parser.add_argument("--proofs", type=int, default=500, help="proofs of each kind (500)")
    parser.add_argument("--tamper-check", action="store_true", help="finally, tamper and compare both verifiers")
    parser.add_argument("--pgdata", type=Path, default=ROOT / ".pgdata", help="the embedded server's data folder")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    args = parser.parse_args(argv)
    args.appends = max(args.rounds, min(args.appends, args.events // 4))

    started = time.perf_counter()
    host = machine()
    print(f"machine: {host}", flush=True)
    socket_dir = create_bench_database(args.pgdata)
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="govern-bench-") as var_dir:
        setup_django(socket_dir, var_dir)
        try:
            from apps.audit import services

            server = server_settings()
            print(f"server: {server}", flush=True)
            print(f"1. appends, each its own transaction: {args.appends:,} record() calls, baselines interleaved")
            results["appends"] = bench_appends(args.appends, args.rounds, debug=True)
            print(f"   {results['appends']}", flush=True)
            results["appends_production"] = bench_appends(args.appends // 4, max(1, args.rounds // 2), debug=False)
            print(f"   DEBUG=false: {results['appends_production']}", flush=True)
            results["batched"] = bench_batched(args.appends // 4)
            print(f"   batched: {results['batched']}", flush=True)
            if args.processes:
                results["concurrent"] = bench_concurrent(args.processes, 5.0)
                print(f"   concurrent: {results['concurrent']}", flush=True)
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
            print("3. verify", flush=True)
            results["verify"] = bench_verify(args.verify_rounds)
            print(f"   {results['verify']}", flush=True)
            print(f"4. {args.proofs} inclusion and {args.proofs} consistency proofs", flush=True)
            results["proofs"] = bench_proofs(args.proofs)
            print(f"   {results['proofs']}", flush=True)
            if args.tamper_check:
                results["tamper"] = tamper_check()
            print_report(args, host, server, results, time.perf_counter() - started)
        finally:
            if args.keep:
                print(f"kept database {BENCH_DB}: DATABASE_URL=postgresql://postgres@/{BENCH_DB}?host={socket_dir}")
            else:
                drop_bench_database(socket_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
