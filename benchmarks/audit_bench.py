"""Audit log benchmark (issue 2): append rate, bulk fill, verify rate and proof times at N events.

    .venv/bin/python benchmarks/audit_bench.py [--events N] [--appends M] [--keep]

Runs against a dedicated database `govern_bench` on the embedded PostgreSQL server (`.pgdata/`), dropped and
created afresh, never the developer's `govern` database nor the test database. The signing key and Django's
secret go to a temporary folder, so nothing under `var/` is touched. Results are printed; copy them into
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "govern_bench"
ACTION = "account.update"
TARGET_TYPE = "bench.thing"
TARGETS = {"appends_per_s": 1500, "verify_events_per_s": 200_000, "proof_ms": 5.0}

RANKS = ["constable", "sergeant", "inspector", "chief_inspector", "superintendent"]
UNITS = ["Met LFR Team 1", "Met LFR Team 2", "RFR Bureau", "Custody Imaging", "Public Protection"]


# --- Set-up: machine, database, Django --------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """CPU count and model, RAM and kernel of this machine."""
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
    names += ["shared_buffers", "wal_buffers", "max_wal_size", "work_mem"]
    found = {}
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute("SELECT current_setting(%s)", [name])
            found[name] = cursor.fetchone()[0]
    return found


# --- Events ---------------------------------------------------------------------------------------------------------


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


# --- 1. Append rate -------------------------------------------------------------------------------------------------

SCRATCH = "bench_commit"


def _scratch_table() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {SCRATCH} (id bigserial PRIMARY KEY, body text NOT NULL)")


def _bare_insert(cursor, body: str) -> None:
    cursor.execute(f"INSERT INTO {SCRATCH} (body) VALUES (%s)", [body])


def _timed(fn, count: int, start: int) -> list[float]:
    """Call fn(i) for count values of i and return each call's latency in seconds."""
    latencies = []
    clock = time.perf_counter
    for i in range(start, start + count):
        t0 = clock()
        fn(i)
        latencies.append(clock() - t0)
    return latencies


def bench_appends(appends: int, rounds: int) -> dict:
    """Audit appends (one transaction each) against bare single-row INSERT commits, interleaved in rounds."""
    from django.db import connection, transaction

    from apps.audit import context, services

    assert not connection.in_atomic_block and connection.get_autocommit()
    _scratch_table()
    body = services.canonical_json({"seq": 0, "data": payload(0), "pad": "x" * 200})  # about an event's size
    cursor = connection.cursor()

    def audit(i: int) -> None:
        context.begin_request()  # each event is its own unit of work, as in a web request
        services.record(ACTION, (TARGET_TYPE, i), None, data=payload(i))

    def bare(_i: int) -> None:
        _bare_insert(cursor, body)  # autocommit: the statement is its own transaction and commit

    def bare_atomic(_i: int) -> None:
        with transaction.atomic():  # BEGIN; INSERT; COMMIT: the round trips record()'s transaction also pays
            _bare_insert(cursor, body)

    _timed(audit, 200, 0)  # warm-up: connection, plans, caches
    _timed(bare, 200, 0)
    _timed(bare_atomic, 200, 0)
    per_round = max(1, appends // rounds)
    lat = {"audit": [], "bare": [], "bare_atomic": []}
    total = {"audit": 0.0, "bare": 0.0, "bare_atomic": 0.0}
    done = 200
    for _ in range(rounds):
        for name, fn in (("bare", bare), ("audit", audit), ("bare_atomic", bare_atomic)):
            count = per_round if name != "bare_atomic" else max(1, per_round // 4)
            t0 = time.perf_counter()
            lat[name] += _timed(fn, count, done)
            total[name] += time.perf_counter() - t0
            if name == "audit":
                done += count
    cursor.close()
    result = {}
    for name in lat:
        values = sorted(lat[name])
        result[name] = {
            "count": len(values),
            "rate": len(values) / total[name],
            "p50_ms": 1000 * values[len(values) // 2],
            "p99_ms": 1000 * values[int(len(values) * 0.99)],
        }
    result["appended"] = done
    return result


def _concurrent(fn, threads: int, seconds: float) -> float:
    """Run fn(thread, i) in a loop on `threads` threads (each with its own connection); return calls per second."""
    from django.db import connection

    counts = [0] * threads
    stop = threading.Event()
    barrier = threading.Barrier(threads + 1)

    def worker(n: int) -> None:
        try:
            fn(n, -1)  # connect before the clock starts
            barrier.wait()
            i = 0
            while not stop.is_set():
                fn(n, i)
                i += 1
            counts[n] = i
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    return sum(counts) / (time.perf_counter() - t0)


def bench_concurrent(threads: int, seconds: float) -> dict:
    """Appends and bare commits from several connections at once: does the head lock serialise the fsyncs?"""
    from django.db import connection

    from apps.audit import context, services

    body = "x" * 350
    before = services.tree_size()

    def audit(n: int, i: int) -> None:
        context.begin_request()
        services.record(ACTION, (TARGET_TYPE, f"t{n}-{i}"), None, data=payload(abs(i)))

    def bare(_n: int, _i: int) -> None:
        with connection.cursor() as cursor:
            _bare_insert(cursor, body)

    result = {
        "threads": threads,
        "bare": _concurrent(bare, threads, seconds),
        "audit": _concurrent(audit, threads, seconds),
    }
    result["appended"] = services.tree_size() - before
    return result


# --- 2. Fill --------------------------------------------------------------------------------------------------------

EVENT_COLUMNS = (
    "seq, created_at, actor_id, actor_username, request_id, action, target_type, target_id, reason, canonical, "
    "leaf_hash"
)


def fill(target: int, chunk: int = 100_000) -> dict:
    """Append events up to `target` exactly as record() would, written with COPY in one transaction per chunk."""
    import json

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
        print(f"  filled to {end:,} events ({time.perf_counter() - t0:.1f} s)", flush=True)
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


def bench_verify() -> dict:
    """Time verify() as a whole, then its steps one by one in one REPEATABLE READ snapshot."""
    from django.db import connection, transaction

    from apps.audit import verification as v

    gc.collect()
    t0 = time.perf_counter()
    report = v.verify()
    total = time.perf_counter() - t0
    assert report.ok, [str(p) for p in report.problems[:5]]

    steps: dict[str, float] = {}
    gc.collect()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        part = v.Report()
        clock = time.perf_counter
        t = clock()
        leaves = v._leaves(part)
        steps["_leaves"] = clock() - t
        t = clock()
        v._column_check(part)
        steps["_column_check"] = clock() - t
        t = clock()
        levels = v._levels(leaves)
        steps["_levels"] = clock() - t
        t = clock()
        v._tree_node_check(part, levels)
        steps["_tree_node_check"] = clock() - t
        t = clock()
        v._checkpoint_check(part, levels)
        steps["_checkpoint_check"] = clock() - t
        t = clock()
        v._head_check(part, levels)
        steps["_head_check"] = clock() - t
    assert part.ok, [str(p) for p in part.problems[:5]]
    del leaves, levels
    return {
        "events": report.events,
        "tree_nodes": report.tree_nodes,
        "checkpoints": report.checkpoints,
        "seconds": total,
        "rate": report.events / total,
        "steps": steps,
    }


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
    """Median and p99 of inclusion and consistency proofs at random positions; every proof is checked."""
    from django.db import connection, reset_queries

    from apps.audit import proofs, verifier
    from apps.audit.models import Checkpoint

    latest = Checkpoint.objects.order_by("-tree_size").first()
    size = latest.tree_size
    root = bytes(latest.root_hash)
    rng = random.Random(seed)
    for _ in range(20):  # warm-up
        proofs.inclusion(rng.randrange(size))

    inclusion_times, inclusion_queries = [], []
    for _ in range(count):
        seq = rng.randrange(size)
        reset_queries()
        t0 = time.perf_counter()
        proof = proofs.inclusion(seq)
        inclusion_times.append(time.perf_counter() - t0)
        inclusion_queries.append(len(connection.queries))
        assert proof.tree_size == size and proof.root_hash == root
        assert verifier.verify_inclusion(seq, size, proof.leaf_hash, proof.audit_path, proof.root_hash), seq

    consistency_times, consistency_queries = [], []
    for _ in range(count):
        first, second = sorted((rng.randint(1, size), rng.randint(1, size)))
        reset_queries()
        t0 = time.perf_counter()
        proof = proofs.consistency(first, second)
        consistency_times.append(time.perf_counter() - t0)
        consistency_queries.append(len(connection.queries))
        assert verifier.verify_consistency(first, second, proof.first_root, proof.second_root, proof.proof), (
            first,
            second,
        )
        if second == size:
            assert proof.second_root == root
    # And once against the signed root: the whole log is consistent with its own first checkpoint.
    first_checkpoint = Checkpoint.objects.order_by("tree_size").first()
    proof = proofs.consistency(first_checkpoint.tree_size, size)
    assert verifier.verify_consistency(
        first_checkpoint.tree_size, size, bytes(first_checkpoint.root_hash), root, proof.proof
    )
    return {
        "tree_size": size,
        "inclusion": _summary(inclusion_times) | {"queries": statistics.median(inclusion_queries)},
        "consistency": _summary(consistency_times) | {"queries": statistics.median(consistency_queries)},
    }


# --- Report ---------------------------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_report(
    args,
    host: dict,
    server: dict,
    appends: dict,
    concurrent: dict | None,
    fill_result: dict,
    sizes: dict,
    verify_result: dict,
    proof_result: dict,
    total_seconds: float,
) -> None:
    """Print every result, then a Markdown table for docs/benchmarks.md."""
    print()
    print("=" * 100)
    print(f"command : .venv/bin/python benchmarks/audit_bench.py --events {args.events} --appends {args.appends}")
    print(f"date    : {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}")
    print(
        f"machine : {host['nproc']} CPUs ({host['cpu']}), {host['ram']} RAM, Linux {host['kernel']}, "
        f"Python {host['python']}"
    )
    print(
        f"server  : PostgreSQL {server['server_version']} (embedded, Unix socket); fsync={server['fsync']}, "
        f"synchronous_commit={server['synchronous_commit']}, wal_sync_method={server['wal_sync_method']}, "
        f"full_page_writes={server['full_page_writes']}, commit_delay={server['commit_delay']}, "
        f"shared_buffers={server['shared_buffers']}"
    )
    a, b, ba = appends["audit"], appends["bare"], appends["bare_atomic"]
    v, inc, con = verify_result, proof_result["inclusion"], proof_result["consistency"]
    ratio = a["rate"] / b["rate"]
    print()
    print("| measure | result | target | verdict |")
    print("| --- | --- | --- | --- |")
    print(
        f"| append, own transaction, fsync on ({a['count']:,} events) | {a['rate']:,.0f} appends/s "
        f"(p50 {a['p50_ms']:.2f} ms, p99 {a['p99_ms']:.2f} ms) | ≥ {TARGETS['appends_per_s']:,}/s | "
        f"{_verdict(a['rate'] >= TARGETS['appends_per_s'])} |"
    )
    print(
        f"| baseline: bare 1-row INSERT, autocommit ({b['count']:,}) | {b['rate']:,.0f} commits/s "
        f"(p50 {b['p50_ms']:.2f} ms, p99 {b['p99_ms']:.2f} ms) | | |"
    )
    print(
        f"| baseline: BEGIN; INSERT; COMMIT via atomic() ({ba['count']:,}) | {ba['rate']:,.0f} commits/s "
        f"(p50 {ba['p50_ms']:.2f} ms, p99 {ba['p99_ms']:.2f} ms) | | |"
    )
    print(f"| ratio append / bare commit | {ratio:.2f} (append / atomic commit {a['rate'] / ba['rate']:.2f}) | | |")
    if concurrent:
        c = concurrent
        print(
            f"| {c['threads']} connections at once: append / bare commit | {c['audit']:,.0f} / {c['bare']:,.0f} "
            f"per s (ratio {c['audit'] / c['bare']:.2f}) | | |"
        )
    print(
        f"| fill to {args.events:,} (COPY, {fill_result['events']:,} events, {fill_result['nodes']:,} nodes) | "
        f"{fill_result['seconds']:.1f} s ({fill_result['events'] / fill_result['seconds']:,.0f} events/s) "
        f"+ VACUUM ANALYZE {fill_result['vacuum_seconds']:.1f} s | | |"
    )
    print(
        f"| verify() at {v['events']:,} events ({v['tree_nodes']:,} nodes, {v['checkpoints']} checkpoints) | "
        f"{v['seconds']:.2f} s = {v['rate']:,.0f} events/s | ≥ {TARGETS['verify_events_per_s']:,}/s | "
        f"{_verdict(v['rate'] >= TARGETS['verify_events_per_s'])} |"
    )
    steps = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in v["steps"].items())
    print(f"| verify() steps, timed apart | {steps} | | |")
    for label, p in (("inclusion proof", inc), ("consistency proof", con)):
        ok = p["median_ms"] <= TARGETS["proof_ms"] and p["p99_ms"] <= TARGETS["proof_ms"]
        print(
            f"| {label} at {proof_result['tree_size']:,} ({p['count']} random, all verified) | "
            f"median {p['median_ms']:.2f} ms, p99 {p['p99_ms']:.2f} ms, max {p['max_ms']:.2f} ms, "
            f"{p['queries']:.0f} queries | ≤ {TARGETS['proof_ms']:.0f} ms | {_verdict(ok)} |"
        )
    print()
    print(f"table sizes: {sizes}; whole run {total_seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="log size for verify and proofs (1,000,000)")
    parser.add_argument("--appends", type=int, default=20_000, help="appends timed one by one (20,000)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds of append and baseline (4)")
    parser.add_argument("--threads", type=int, default=4, help="connections for the concurrent run (0 skips)")
    parser.add_argument("--proofs", type=int, default=500, help="proofs of each kind (500)")
    parser.add_argument("--pgdata", type=Path, default=ROOT / ".pgdata", help="embedded server's data folder")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    args = parser.parse_args(argv)
    args.appends = min(args.appends, max(0, args.events - 1000))

    started = time.perf_counter()
    host = machine()
    print(f"machine: {host}", flush=True)
    socket_dir = create_bench_database(args.pgdata)
    with tempfile.TemporaryDirectory(prefix="govern-bench-") as var_dir:
        setup_django(socket_dir, var_dir)
        try:
            from apps.audit import services

            server = server_settings()
            print(f"server: {server}", flush=True)
            print(f"1. {args.appends:,} appends, each its own transaction, against bare commits ...", flush=True)
            appends = bench_appends(args.appends, args.rounds)
            print(f"   {appends}", flush=True)
            concurrent = None
            if args.threads:
                concurrent = bench_concurrent(args.threads, 5.0)
                print(f"   concurrent: {concurrent}", flush=True)
            services.sign_checkpoint()
            print(f"2. fill to {args.events:,} events ...", flush=True)
            fill_result = fill(args.events)
            checkpoint = services.sign_checkpoint()
            assert checkpoint.tree_size == args.events, checkpoint.tree_size
            sizes = table_sizes()
            print(f"   {fill_result}, sizes {sizes}", flush=True)
            print("3. verify ...", flush=True)
            verify_result = bench_verify()
            print(f"   {verify_result}", flush=True)
            print(f"4. {args.proofs} inclusion and {args.proofs} consistency proofs ...", flush=True)
            proof_result = bench_proofs(args.proofs)
            print(f"   {proof_result}", flush=True)
            print_report(
                args,
                host,
                server,
                appends,
                concurrent,
                fill_result,
                sizes,
                verify_result,
                proof_result,
                time.perf_counter() - started,
            )
        finally:
            if args.keep:
                print(f"kept database {BENCH_DB}: DATABASE_URL=postgresql://postgres@/{BENCH_DB}?host={socket_dir}")
            else:
                drop_bench_database(socket_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
