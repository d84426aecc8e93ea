"""Retention sweep benchmark (issue 26): the sweep over 1,000,000 rows past their period, receipts and all.

    .venv/bin/python benchmarks/retention_bench.py [--rows 1000000]
    .venv/bin/python benchmarks/retention_bench.py --smoke    (5,000 rows, every step: the test suite runs it)

Runs against a dedicated database `govern_retention_bench` (with --smoke, `govern_retention_bench_smoke_<pid>`) on
the embedded PostgreSQL server (`.pgdata/`), created afresh and dropped at the end. The rows are past versions of
subjects (names, dates of birth, PNC ids: the subject-history class), filled by one INSERT ... SELECT; the sweep is
the real one (`services.retention_sweep`, every class, as `manage.py oversight_retention` runs it), deleting in chunks
of RETENTION_CHUNK_ROWS with one receipt event per chunk naming every row. The run fails (exit status 1) if a row
survives, a deleted row is missing from the receipts, or `audit verify` fails afterwards.

Target: the sweep over 1,000,000 rows in under 60 s on a 2-core machine. Baseline in the same run, as a ratio: one
bare `DELETE ... WHERE history_date < cutoff` of the same rows, with no receipts and no chunks.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import matching_bench  # noqa: E402
from benchmarks.audit_bench import SMOKE_HELP, load_average, machine, stop_on_terminate  # noqa: E402

matching_bench.BENCH_DB = "govern_retention_bench"
TARGET_S = 60.0


def fill(rows: int, days_ago: int) -> float:
    """`rows` past versions of one subject, all recorded `days_ago` days ago; the seconds it took."""
    from django.db import connection

    from apps.oversight.sweep import HistoricalSubject

    table = HistoricalSubject._meta.db_table
    columns = [
        f.column for f in HistoricalSubject._meta.concrete_fields if f.column not in ("history_id", "history_date")
    ]
    listed = ", ".join(columns)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(history_id) FROM {table}")
        (template,) = cursor.fetchone()
        cursor.execute(
            f"INSERT INTO {table} ({listed}, history_date) "
            f"SELECT {listed}, now() - make_interval(days => %s) FROM {table}, generate_series(1, %s) "
            "WHERE history_id = %s",
            [days_ago, rows, template],
        )
        cursor.execute(f"DELETE FROM {table} WHERE history_id = %s", [template])
        cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pgdata", type=Path, default=ROOT / ".pgdata")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows = 5_000
        matching_bench.use_smoke_database()
    host = machine()
    print(f"machine: {host}, load average {load_average()}", flush=True)
    socket_dir = matching_bench.create_bench_database(args.pgdata)
    r = {}
    with tempfile.TemporaryDirectory(prefix="govern-retention-bench-") as var_dir:
        matching_bench.setup_django(socket_dir, var_dir)
        try:
            from django.conf import settings
            from django.db import connection
            from django.utils import timezone

            from apps.accounts.services import accounts
            from apps.audit.models import Event
            from apps.audit.verification import verify
            from apps.oversight import services
            from apps.oversight.sweep import HistoricalSubject
            from apps.watchlists.models import Subject

            compiler = accounts.create_user(None, "bench-compiler", "bench-pass-12345")
            Subject.objects.create(family_name="Bench", given_names="Subject", date_of_birth=datetime.date(1990, 1, 1),
                                   pnc_id="26/000001A", created_by=compiler)  # fmt: skip
            days = settings.RETENTION_DEFAULT_HOURS["subject_history"] // 24 + 30

            print(f"1. baseline: fill {args.rows:,} subject versions, one bare DELETE", flush=True)
            fill(args.rows, days)
            started = time.perf_counter()
            with connection.cursor() as cursor:
                table = HistoricalSubject._meta.db_table
                cursor.execute(
                    f"DELETE FROM {table} WHERE history_date < now() - make_interval(days => %s)", [days - 1]
                )
                r["bare_rows"] = cursor.rowcount
            r["bare_s"] = time.perf_counter() - started
            Subject.objects.all().delete()
            Subject.objects.create(family_name="Bench", given_names="Subject", date_of_birth=datetime.date(1990, 1, 1),
                                   pnc_id="26/000001A", created_by=compiler)  # fmt: skip

            print(f"2. fill {args.rows:,} subject versions again", flush=True)
            r["fill_s"] = fill(args.rows, days)

            print("3. the retention sweep (every class; receipts in the log)", flush=True)
            connection.close()
            started = time.perf_counter()
            items = services.retention_sweep()
            r["sweep_s"] = time.perf_counter() - started
            r["deleted"] = sum(item.count for item in items if item.outcome == "deleted")
            r["left"] = HistoricalSubject.objects.filter(history_date__lt=timezone.now()).count() - 1  # the live one
            receipts = Event.objects.filter(action="retention.deleted")
            r["receipts"] = receipts.count()
            r["receipted_rows"] = sum(len(event.data["rows"]) for event in receipts)
            started = time.perf_counter()
            r["verify_ok"] = verify().ok
            r["verify_s"] = time.perf_counter() - started
        finally:
            matching_bench.drop_bench_database(socket_dir)
    verdict = "met" if r["sweep_s"] < TARGET_S else "MISSED"
    print("\n| measure | result | target | verdict |")
    print("| --- | --- | --- | --- |")
    print(f"| bare DELETE of {r['bare_rows']:,} rows (baseline) | {r['bare_s']:.2f} s | | |")
    print(
        f"| **retention sweep** of {args.rows:,} rows ({r['receipts']} receipt events naming {r['receipted_rows']:,} "
        f"rows) | {r['sweep_s']:.2f} s ({args.rows / r['sweep_s']:,.0f} rows/s) | < {TARGET_S:.0f} s | {verdict} |"
    )
    print(f"| ratio sweep / bare DELETE | {r['sweep_s'] / r['bare_s']:.2f} | | |")
    print(f"| `audit verify` after the sweep | {r['verify_s']:.2f} s, {'OK' if r['verify_ok'] else 'FAILED'} | | |")
    ok = r["deleted"] == r["receipted_rows"] == args.rows and r["left"] == 0 and r["verify_ok"]
    print(f"every row deleted and receipted, log verifies: {ok}")
    print(f"machine {host}, load at end {load_average()}")
    return 0 if ok else 1


if __name__ == "__main__":
    stop_on_terminate()
    sys.exit(main())
