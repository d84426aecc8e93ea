"""What a custody deletion's absence check costs at gallery scale (issue 26, points 2 and 4): a ratio, same run.

    .venv/bin/python benchmarks/evidence_bench.py [--count 1000000] [--deletions 10] [--per-subject 4]
    .venv/bin/python benchmarks/evidence_bench.py --smoke    (5,000 templates, 3 deletions: the test suite runs it)

A person's deletion removes their custody templates and proves them gone in the same transaction
(apps/matching/services/deletion_evidence.py): no row left under their ids, and no row holding one of their vectors
under another id. Two ways of searching, timed on the same deletions, alternately:
- by hash (the service): the primary key and the indexed SHA-256 of each row's vector (`embedding_sha256`, computed by
  PostgreSQL), both B-tree lookups;
- by scan (the service before it, the baseline): the same conditions on the vectors themselves with index scans off,
  so every row of the gallery and of its projection table is read.
Each deletion is `--per-subject` templates deleted and checked, then rolled back, so every one runs on the full gallery.
Reported: the check's time (median and worst), and the whole `record_deletion_evidence` (check, audit event, outbox)
by hash.

The gallery is random `halfvec(512)` rows made by PostgreSQL in the throwaway database `govern_evidence_bench` (with
--smoke, `govern_evidence_bench_smoke_<pid>`; dropped at the end), migrated as production is. Its foreign keys are not
enforced while it is filled (no subjects or images are made: the check reads neither table), and its HNSW indexes are
dropped first (an equality search never uses them, and building them over a million rows would take most of an hour).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import matching_bench  # noqa: E402
from benchmarks.audit_bench import SMOKE_HELP, load_average, machine, stop_on_terminate  # noqa: E402

matching_bench.BENCH_DB = "govern_evidence_bench"
BATCH = 50_000


def fill(count: int) -> float:
    """`count` random custody templates (with their generated hashes); the seconds it took."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'matching_custodytemplate' AND indexdef ~* 'hnsw'"
        )
        for (index,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{index}"')
        cursor.execute("SET session_replication_role = replica")  # no foreign key checks while filling
        for first in range(1, count + 1, BATCH):
            cursor.execute(
                "INSERT INTO matching_custodytemplate (image_id, subject_id, embedding, engine, weights_sha256, "
                "created_at) SELECT i, i / 4, "
                "(SELECT array_agg(random() - 0.5) FROM generate_series(1, 512) WHERE i > 0)::halfvec, "
                "'facenet', repeat('0', 64), now() FROM generate_series(%s, %s) i",
                [first, min(first + BATCH - 1, count)],
            )
        cursor.execute("SET session_replication_role = origin")
        cursor.execute("ANALYZE matching_custodytemplate")
    return time.perf_counter() - started


def measure(args) -> dict:
    """Each deletion checked both ways, alternately, each rolled back."""
    from django.db import connection, transaction

    from apps.matching.choices import Biometric
    from apps.matching.models import CustodyTemplate
    from apps.matching.services import deletion_evidence

    kind = Biometric.CUSTODY_TEMPLATE
    hashed = deletion_evidence.HELD[kind]
    scanned = dataclasses.replace(hashed, hash_column="")
    times = {"by hash": [], "by scan": [], "record_deletion_evidence, by hash": []}
    step = max(1, args.count // args.per_subject // (args.deletions + 1))
    for deletion in range(args.deletions):
        subject = 1 + deletion * step
        for way, held in (("by hash", hashed), ("by scan", scanned)):
            with transaction.atomic():
                rows = list(CustodyTemplate.objects.filter(subject_id=subject).values_list("pk", "embedding"))
                ids, vectors = [pk for pk, _ in rows], [list(vector) for _, vector in rows]
                CustodyTemplate.objects.filter(pk__in=ids).delete()
                deletion_evidence.HELD[kind] = held
                try:
                    started = time.perf_counter()
                    found = deletion_evidence._survivors(kind, ids, vectors)
                    times[way].append(time.perf_counter() - started)
                    if way == "by hash":
                        started = time.perf_counter()
                        deletion_evidence.record_deletion_evidence(kind, ids, vectors=vectors)
                        times["record_deletion_evidence, by hash"].append(time.perf_counter() - started)
                finally:
                    deletion_evidence.HELD[kind] = hashed
                assert found == 0 and ids, f"subject {subject}: {len(ids)} templates, {found} found after deletion"
                transaction.set_rollback(True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_relation_size(indexname::regclass)) FROM pg_indexes "
            "WHERE tablename = 'matching_custodytemplate' AND indexdef ~ 'embedding_sha256'"
        )
        (index_size,) = cursor.fetchone()
    return {"times": times, "index_size": index_size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="custody templates in the gallery")
    parser.add_argument("--deletions", type=int, default=10, help="deletions timed each way")
    parser.add_argument("--per-subject", type=int, default=4, help="templates a person has")
    parser.add_argument("--pgdata", type=Path, default=Path(os.environ.get("GOVERN_PGDATA") or ROOT / ".pgdata"))
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    stop_on_terminate()
    if args.smoke:
        args.count, args.deletions = 5_000, 3
        matching_bench.use_smoke_database()

    socket_dir = matching_bench.create_bench_database(args.pgdata)
    with tempfile.TemporaryDirectory(prefix="govern-evidence-bench-") as var_dir:
        matching_bench.setup_django(socket_dir, var_dir)
        try:
            print(f"machine: {machine()}, load average {load_average()}", flush=True)
            seconds = fill(args.count)
            print(f"gallery: {args.count:,} templates in {seconds:.0f} s", flush=True)
            result = measure(args)
        finally:
            matching_bench.drop_bench_database(socket_dir)
    times = result["times"]
    print(f"\n{args.deletions} deletions of {args.per_subject} templates from {args.count:,}; "
          f"hash index {result['index_size']}\n")  # fmt: skip
    print("| absence check | median ms | worst ms |")
    print("| --- | --- | --- |")
    for way, seconds in times.items():
        print(f"| {way} | {1000 * statistics.median(seconds):.1f} | {1000 * max(seconds):.1f} |")
    ratio = statistics.median(times["by scan"]) / statistics.median(times["by hash"])
    print(f"| **by scan / by hash** | **{ratio:.1f}x** | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
