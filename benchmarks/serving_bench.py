"""Serving behind nginx against gunicorn alone, side by side in one run (issue 20, item 1).

    .venv/bin/python benchmarks/serving_bench.py [--rounds 4] [--duration 5] [--frames 24] [--before-pythonpath DIR]
    .venv/bin/python benchmarks/serving_bench.py --smoke    (one round of 1 s bursts and 2 frames: the test suite)

Two servers run at once on free loopback ports, on one seeded database (`govern_load_bench`, as load_bench.py; with
--smoke `govern_load_bench_smoke_<pid>`):
- "before": gunicorn alone, as the load runs measured it before issue 20: gunicorn.conf.py's processes and
  threads, with 1,000 connections a worker and keep-alive. With the production file's one connection a thread and
  none kept alive, wrk's first burst stopped gunicorn 23 for good, which is the bug this issue is about.
- "after": `python -m govern.serve`, nginx in front of the same gunicorn on a Unix socket.

`--before-pythonpath` puts another gunicorn first on the "before" server's path (`pip install --target DIR
gunicorn==23.0.0` gives the one production ran).

The machine's speed drifts by a fifth over minutes here, so nothing is compared across runs: every read endpoint
gets `--rounds` alternating bursts of wrk, `--duration` seconds each, before then after, and the frames alternate
chunks of `--frames` one-face frames the same way. The ratio after/before of the summed rates is the result; the
target is no loss beyond 5 % (a ratio of at least 0.95). Every frame must end as an alert or a receipt.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import load_bench, matching_bench  # noqa: E402
from benchmarks.audit_bench import SMOKE_HELP, load_average, machine, stop_on_terminate  # noqa: E402

TARGET_RATIO = 0.95


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="alternations of before and after per measure")
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per burst")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--frames", type=int, default=24, help="frames per chunk")
    parser.add_argument("--frame-clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--before-pythonpath", default="", help="a folder put first on the 'before' server's path")
    parser.add_argument("--pgdata", type=Path, default=ROOT / ".pgdata")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.duration, args.frames, args.frame_clients, args.workers, args.threads = 1, 1, 2, 1, 1, 2
        matching_bench.use_smoke_database()
    binary = load_bench.ensure_wrk()
    host = machine()
    print(f"machine: {host}, load average {load_average()}", flush=True)
    socket_dir = matching_bench.create_bench_database(args.pgdata)
    with tempfile.TemporaryDirectory(prefix="govern-serving-bench-") as var_dir:
        matching_bench.setup_django(socket_dir, var_dir)
        try:
            seeded = load_bench.prepare()
            deployment = seeded["deployment"]
            frame = load_bench.one_face_jpeg()
            from django.db import connections

            from govern import keyfiles

            keyfiles.receipt_key()  # generated here (DEBUG) for the servers, which read keys from files
            connections.close_all()
            env = load_bench.server_env(socket_dir, var_dir)
            before_env = dict(env, PYTHONPATH=args.before_pythonpath) if args.before_pythonpath else env
            with (
                load_bench.Server(
                    before_env, args.workers, args.threads, keep_alive=True, serving="gunicorn"
                ) as before,
                load_bench.Server(env, args.workers, args.threads, serving="nginx") as after,
            ):
                servers = {"before": before, "after": after}
                for server in servers.values():  # every worker loads its engine and the templates
                    load_bench.post_frames(server.url, seeded["camera"], deployment.pk, frame,
                                           3 * args.workers * args.threads, args.frame_clients)  # fmt: skip
                targets = [
                    ("/healthz", None),
                    ("/api/deployments/published/", None),
                    ("/api/accounts/me/", seeded["officer_token"]),
                ]
                results = {}
                for path, token in targets:
                    totals = {name: [0, 0.0, 0] for name in servers}
                    for _ in range(args.rounds):
                        for name, server in servers.items():
                            burst = load_bench.wrk(binary, server.url + path, args.connections, args.duration, token)
                            totals[name][0] += burst["requests"]
                            totals[name][1] += burst["requests"] / burst["rps"] if burst["rps"] else args.duration
                            totals[name][2] += burst["non_2xx"] + burst["socket_errors"]
                    results[path] = {name: (n / seconds, bad) for name, (n, seconds, bad) in totals.items()}
                    print(f"{path}: " + ", ".join(f"{n} {r:,.0f}/s" for n, (r, _b) in results[path].items()),
                          flush=True)  # fmt: skip
                frames = {name: [0, 0.0, 0] for name in servers}
                for _ in range(args.rounds):
                    for name, server in servers.items():
                        sent = load_bench.post_frames(server.url, seeded["camera"], deployment.pk, frame,
                                                      args.frames, args.frame_clients)  # fmt: skip
                        frames[name][0] += args.frames
                        frames[name][1] += args.frames / sent["frames_per_s"]
                        frames[name][2] += sent["failed"]
                results["frames (one face each)"] = {name: (n / s, bad) for name, (n, s, bad) in frames.items()}
            faces, alerts, receipts = load_bench.ledger(deployment.pk)
        finally:
            matching_bench.drop_bench_database(socket_dir)

    print(f"\nmachine: {host}")
    print(f"{args.workers} workers x {args.threads} threads each; {args.rounds} alternations of {args.duration} s "
          f"bursts (wrk, {args.connections} connections) and of {args.frames}-frame chunks ({args.frame_clients} "
          f"senders); before: gunicorn alone{' from ' + args.before_pythonpath if args.before_pythonpath else ''}; "
          "after: nginx in front of gunicorn")  # fmt: skip
    print("\n| measure | before (per s) | after (per s) | after / before | failed | target |")
    print("| --- | --- | --- | --- | --- | --- |")
    ok = faces == alerts + receipts
    for measure, row in results.items():
        (before_rate, before_bad), (after_rate, after_bad) = row["before"], row["after"]
        ratio = after_rate / before_rate
        met = ratio >= TARGET_RATIO and not before_bad + after_bad
        ok = ok and not before_bad + after_bad and (ratio >= TARGET_RATIO or args.smoke)
        print(f"| {measure} | {before_rate:,.1f} | {after_rate:,.1f} | {ratio:.3f} | {before_bad + after_bad} | "
              f">= {TARGET_RATIO}: {'met' if met else 'MISSED'} |")  # fmt: skip
    print(f"\nledger: faces {faces} = alerts {alerts} + receipts {receipts}: {faces == alerts + receipts}")
    return 0 if ok else 1


if __name__ == "__main__":
    stop_on_terminate()
    sys.exit(main())
