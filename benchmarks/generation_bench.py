"""What reading the template generations with each frame's admission costs (issue 26, point 4): a ratio, same run.

    .venv/bin/python benchmarks/generation_bench.py [--statements 2000] [--chunks 10] [--held 16]
    .venv/bin/python benchmarks/generation_bench.py --smoke    (200 statements, 2 chunks: the test suite runs it)

A frame's admission is one statement (apps/matching/services/live_capture.py, `_BY_TOKEN`): the camera's credential,
its asset, its live deployment and list, the engine's approval, the restricted subjects and, last, the generations of
the lists the worker holds (`matching_templategeneration`, by primary key). This times that statement as the server
sends it (prepared, on Django's connection, rows fetched) against the same statement without the generations' column
and parameter, alternating `--chunks` chunks of each so the machine's drift falls on both, and reports the time and
the PostgreSQL backend's CPU a statement of each and their ratio. The worker is taken to hold `--held` lists (16, the
size of enrolment's HeldLists), the demo's lists among them, each with a generation row.

frame_cost.py and live_bench.py measure the whole frame; docs/benchmarks.md has both, before and after the change.

Runs against the throwaway database `govern_generation_bench` (with --smoke, `govern_generation_bench_smoke_<pid>`;
dropped at the end), seeded by `seed_demo`, as frame_cost.py is.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import load_bench, matching_bench  # noqa: E402
from benchmarks.audit_bench import SMOKE_HELP, load_average, machine, stop_on_terminate  # noqa: E402
from benchmarks.frame_cost import backend_cpu  # noqa: E402

matching_bench.BENCH_DB = "govern_generation_bench"  # after load_bench's import, which sets its own
GENERATIONS = """,
       ARRAY(SELECT ARRAY[h.id, CASE WHEN EXISTS (SELECT FROM deployments_deployment x
                                                  WHERE x.watchlist_id = h.id AND x.state = 'live')
                                THEN coalesce(g.generation, 0) ELSE -1 END]
             FROM unnest(%s::bigint[]) h(id) LEFT JOIN matching_templategeneration g ON g.watchlist_id = h.id)"""


def statements() -> dict[str, str]:
    """The admission statement as sent, and the same without the generations (the statement before the change)."""
    from apps.matching.services import live_capture

    sent = live_capture._BY_TOKEN
    assert sent.count(GENERATIONS) == 1, "the admission statement changed: update GENERATIONS"
    return {"with generations": sent, "without": sent.replace(GENERATIONS, "")}


def measure(args, seeded: dict) -> dict[str, dict[str, float]]:
    """Time and backend CPU a statement of each kind, alternating chunks."""
    from django.db import connection

    from apps.deployments.choices import DeploymentState
    from apps.matching.models import TemplateGeneration
    from apps.matching.services.engine_approval import engine_identity
    from apps.watchlists.models import Watchlist
    from govern import prepared

    lists = list(Watchlist.objects.values_list("pk", flat=True))
    TemplateGeneration.objects.bulk_create([TemplateGeneration(watchlist_id=pk, generation=3) for pk in lists])
    held = (lists + [max(lists) + 1 + i for i in range(args.held)])[: args.held]
    name, weights, _ = engine_identity()
    key = seeded["camera"].partition(".")[0]
    params = {
        "with generations": [name, weights, held, DeploymentState.LIVE.value, key],
        "without": [name, weights, DeploymentState.LIVE.value, key],
    }
    sql = statements()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    per_chunk = max(1, args.statements // args.chunks)
    spent = {kind: {"seconds": 0.0, "cpu": 0.0, "count": 0} for kind in sql}
    for chunk in range(2 * args.chunks):
        kind = list(sql)[chunk % 2]
        cpu, started = backend_cpu(backend), time.perf_counter()
        for _ in range(per_chunk):
            with prepared.cursor() as cursor:
                prepared.execute(cursor, sql[kind], params[kind])
                rows = cursor.fetchall()
        spent[kind]["seconds"] += time.perf_counter() - started
        spent[kind]["cpu"] += backend_cpu(backend) - cpu
        spent[kind]["count"] += per_chunk
        assert rows, "the camera's credential was not found"
    return {
        kind: {"us": 1e6 * s["seconds"] / s["count"], "cpu_us": 1e6 * s["cpu"] / s["count"], "count": s["count"]}
        for kind, s in spent.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=2000, help="statements of each kind")
    parser.add_argument("--chunks", type=int, default=10, help="alternations of the two statements")
    parser.add_argument("--held", type=int, default=16, help="lists the worker holds")
    parser.add_argument("--pgdata", type=Path, default=Path(os.environ.get("GOVERN_PGDATA") or ROOT / ".pgdata"))
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    stop_on_terminate()
    if args.smoke:
        args.statements, args.chunks = 200, 2
        matching_bench.use_smoke_database()

    socket_dir = matching_bench.create_bench_database(args.pgdata)
    with tempfile.TemporaryDirectory(prefix="govern-generation-bench-") as var_dir:
        matching_bench.setup_django(socket_dir, var_dir)
        try:
            seeded = load_bench.prepare()
            print(f"machine: {machine()}, load average {load_average()}", flush=True)
            results = measure(args, seeded)
        finally:
            matching_bench.drop_bench_database(socket_dir)
    print(f"\n{args.statements} admission statements of each kind in {args.chunks} alternating chunks, "
          f"{args.held} lists held\n")  # fmt: skip
    print("| admission statement | wall per statement | backend CPU per statement |")
    print("| --- | --- | --- |")
    for kind, result in results.items():
        print(f"| {kind} | {result['us']:.0f} us | {result['cpu_us']:.0f} us |")
    with_, without = results["with generations"], results["without"]
    print(f"| **with / without** | **{with_['us'] / without['us']:.3f}** | "
          f"**{with_['cpu_us'] / max(without['cpu_us'], 1e-9):.3f}** |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
