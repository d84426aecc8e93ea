"""Monitor benchmark (issue 27, point 4): the monitor following a Govern log of 1,000,000 events from its public
checkpoint and tiles, against a target of under 60 s.

    .venv/bin/python benchmarks/monitor_bench.py [--events 1000000] [--keep]
    .venv/bin/python benchmarks/monitor_bench.py --smoke    (10,000 events: the test suite runs it)

Runs against a dedicated database `govern_monitor_bench` (with --smoke, `govern_monitor_bench_smoke_<pid>`) on the
embedded PostgreSQL server (`.pgdata/`), created afresh and dropped at the end. The log is filled as audit_bench fills
it (COPY, exactly the rows `record` writes: the system's `account.update` events, withheld in the entries like every
event but a tombstone or an origin change), a checkpoint is signed, and the log is served by gunicorn (two sync
workers, no nginx, AUDIT_PUBLIC_RATE raised: the monitor is measured, not the per-address limit) on a free loopback
port. Measured: `verifier.monitor` from an empty state file to the checkpoint (the signature, every entry bundle
rebuilt into the tree, every hash tile checked), then again after 1 % more events (a monitor's ordinary run).
Baseline in the same run: GETs of the very tiles and bundles the monitor reads, on one kept-alive connection, doing
nothing with them, before and after the monitor; the ratio monitor / fetch-only is the monitor's own cost. The
fetch-only pass also times each kind of tile (level 0, level 1, entry bundle) at the start and at the end of the tree
beside `/healthz` (every middleware, no query): a tile is one indexed query, so the end costs what the start does.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import audit_bench  # noqa: E402  (its database, Django set-up, fill and load reporting)

BENCH_DB = "govern_monitor_bench"
TARGET_SECONDS = 60.0


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(var_dir: str) -> tuple[subprocess.Popen, str]:
    """gunicorn serving Govern on the bench database (this process's environment), and its URL once it answers."""
    port = free_port()
    environment = {**os.environ, "AUDIT_PUBLIC_RATE": "1000000/s", "ALLOWED_HOSTS": "127.0.0.1"}
    # cwd elsewhere: gunicorn would read the repository's gunicorn.conf.py (a Unix socket behind nginx) from its cwd.
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--chdir", str(ROOT), "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "govern.wsgi"],
        cwd=var_dir, env=environment,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, url
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {server.returncode}") from None
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("gunicorn did not answer within 30 s")


def paths_read(old_size: int, new_size: int) -> list[str]:
    """What the monitor reads from old_size to new_size: each entry bundle and its level-0 tile, then the tiles
    above."""
    from apps.audit import verifier

    paths = ["healthz"] * 20 + ["checkpoint"]  # /healthz: the framework's floor (every middleware, no query)
    for index in range(old_size // verifier.TILE_WIDTH, (new_size - 1) // verifier.TILE_WIDTH + 1):
        width = min(verifier.TILE_WIDTH, new_size - index * verifier.TILE_WIDTH)
        paths += [verifier.tile_path(None, index, width), verifier.tile_path(0, index, width)]
    paths += [verifier.tile_path(*tile) for tile in verifier._tiles_to_check(old_size, new_size)]
    return paths


def fetch_only(url: str, paths: list[str]) -> tuple[float, dict[str, list[float]]]:
    """GET every path on one kept-alive connection; the seconds it took, and each request's ms by kind and place."""
    from apps.audit import verifier

    http = verifier._Http(url)
    timings: dict[str, list[float]] = {}
    start = time.perf_counter()
    edge = max(1, len(paths) // 20)
    try:
        for number, path in enumerate(paths):
            t0 = time.perf_counter()
            status, _body = http.get(path)
            elapsed = (time.perf_counter() - t0) * 1000
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            kind = "entries" if "/entries/" in path else path.split("/")[1] if path.startswith("tile/") else path
            kind = f"tile level {kind}" if kind.isdigit() else kind
            place = "start" if number < edge else "end" if number >= len(paths) - edge else "middle"
            timings.setdefault(f"{kind} at the {place}", []).append(elapsed)
    finally:
        http.close()
    return time.perf_counter() - start, timings


def monitored(url: str, key, state: str) -> tuple[float, list]:
    """One monitor run: its seconds and its results (every line must hold)."""
    from apps.audit import verifier

    start = time.perf_counter()
    results = verifier.monitor(url, [key], state)
    seconds = time.perf_counter() - start
    failed = [label for label, ok in results if not ok]
    if failed:
        raise RuntimeError(f"the monitor failed: {failed}")
    return seconds, results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="log size (1,000,000)")
    parser.add_argument("--pgdata", type=Path, default=ROOT / ".pgdata", help="the embedded server's data folder")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    parser.add_argument("--smoke", action="store_true", help=audit_bench.SMOKE_HELP)
    args = parser.parse_args(argv)
    database = BENCH_DB
    if args.smoke:
        args.events = 10_000
        database = audit_bench.smoke_database(BENCH_DB)
    print(f"machine: {audit_bench.machine()}, load average {audit_bench.load_average()}", flush=True)
    socket_dir = audit_bench.create_bench_database(args.pgdata, database)
    with tempfile.TemporaryDirectory(prefix="govern-monitor-bench-") as var_dir:
        audit_bench.setup_django(socket_dir, var_dir, database)
        server = None
        try:
            from apps.audit import notes, services, signing

            print(f"1. fill to {args.events:,} events", flush=True)
            services.sign_checkpoint()  # the empty log's: the fill then extends a signed tree
            fill = audit_bench.fill(args.events)
            services.sign_checkpoint()
            key = notes.VerifierKey.parse(signing.verifier_key())
            server, url = start_server(var_dir)
            paths = paths_read(0, services.tree_size())
            for _ in range(8):  # both workers load Django before anything is timed
                fetch_only(url, ["checkpoint"])
            print(f"2. follow {services.tree_size():,} events at {url}: {len(paths):,} requests", flush=True)
            load = audit_bench.Load()
            before, timings = fetch_only(url, paths)
            state = str(Path(var_dir) / "monitor.json")
            seconds, results = monitored(url, key, state)
            after, _ = fetch_only(url, paths)
            follow_load = load.done()
            grown_from = services.tree_size()
            audit_bench.fill(grown_from + max(1, args.events // 100))
            services.sign_checkpoint()
            again, _ = monitored(url, key, state)
            baseline = (before + after) / 2
            size = grown_from
            verdict = "met" if seconds < TARGET_SECONDS else "**missed**"
            print(f"\n## Monitor at {size:,} events ({'smoke: figures mean nothing' if args.smoke else 'full run'})\n")
            print(f"fill: {fill['seconds']:.0f} s (COPY); {follow_load}\n")
            print("| measure | result | target | verdict |")
            print("|---|---|---|---|")
            print(f"| monitor, empty state to {size:,} events | {seconds:.1f} s ({size / seconds:,.0f} events/s) "
                  f"| < {TARGET_SECONDS:.0f} s | {verdict} |")  # fmt: skip
            print(f"| fetch-only baseline, same {len(paths):,} requests | {before:.1f} s and {after:.1f} s | | |")
            print(f"| **monitor / fetch-only** | {seconds / baseline:.2f} | | |")
            print(f"| monitor, {services.tree_size() - grown_from:,} new events | {again:.2f} s | | |\n")
            print("| request (fetch-only pass) | p50 ms | max ms | n |")
            print("|---|---|---|---|")
            for name, values in sorted(timings.items()):
                print(f"| {name} | {statistics.median(values):.2f} | {max(values):.2f} | {len(values)} |")
            print(f"\nmonitor said: {'; '.join(label for label, _ in results)}")
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            if args.keep:
                print(f"kept database {database}: DATABASE_URL=postgresql://postgres@/{database}?host={socket_dir}")
            else:
                audit_bench.drop_bench_database(socket_dir, database)
    return 0


if __name__ == "__main__":
    audit_bench.stop_on_terminate()
    sys.exit(main())
