"""Witness benchmark (issue 27): how long after a checkpoint is signed two witnesses have cosigned it.

    .venv/bin/python benchmarks/witness_bench.py [--rounds 50] [--events 100]
    .venv/bin/python benchmarks/witness_bench.py --smoke    (3 rounds of 10 events: the test suite runs it)

Runs against a dedicated database `govern_witness_bench` (with --smoke, `govern_witness_bench_smoke_<pid>`) on the
embedded PostgreSQL server, created afresh and dropped at the end, with two witness programs (apps/audit/witness.py)
started as their own processes on local ports. Each round appends events, signs a checkpoint, then submits it to both
witnesses as the Celery task does (`witnessing.witness_latest`: the consistency proof from the size each cosigned, the
HTTP submission, the cosignature checked and stored, each answer logged as an event). Measured: signed -> both
cosignatures stored. Baseline in the same run, as a ratio: signing the checkpoint itself.

Target: both cosignatures within 2 s of the signature, at p95. The run fails (exit status 1) if a checkpoint is left
with fewer than two valid cosignatures.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.audit_bench import (  # noqa: E402
    SMOKE_HELP,
    create_bench_database,
    drop_bench_database,
    load_average,
    setup_django,
    smoke_database,
    stop_on_terminate,
)

BENCH_DB = "govern_witness_bench"
TARGET_S = 2.0
WITNESS = [sys.executable, "-m", "apps.audit.witness"]


def start_witness(directory: Path, name: str, log_key: str) -> tuple[subprocess.Popen, dict]:
    """A witness program on a free port, and its AUDIT_WITNESSES entry."""
    key = directory / f"{name.replace('/', '_')}.pem"
    subprocess.run([*WITNESS, "keygen", "--name", name, "--key", str(key)], cwd=ROOT, check=True, capture_output=True)
    state = directory / f"{name.replace('/', '_')}.json"
    command = [*WITNESS, "serve", "--name", name, "--key", str(key), "--state", str(state), "--log", log_key]
    process = subprocess.Popen(
        [*command, "--listen", "127.0.0.1:0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    line = process.stdout.readline()
    if " listening on " not in line:
        raise SystemExit(f"the witness {name} did not start: {line!r}")
    return process, {"name": name, "verifier_key": line.split()[1], "url": line.rsplit(" ", 1)[1].strip()}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(rounds: int, events: int, directory: Path) -> int:
    from django.conf import settings

    from apps.audit import notes, services, signing, witnessing
    from apps.audit.models import Checkpoint

    def append(count: int) -> None:
        for i in range(count):
            services.record("account.update", ("bench.thing", i), None, data={"i": i})

    # Baseline: signing alone, no witness configured.
    settings.AUDIT_WITNESSES, settings.AUDIT_WITNESS_QUORUM = [], 0
    signed_only = []
    for _ in range(rounds):
        append(events)
        started = time.perf_counter()
        services.sign_checkpoint()
        signed_only.append(time.perf_counter() - started)

    processes, entries = [], []
    try:
        for name in ("witness.regulator.example/w1", "witness.neighbour-police.uk/w"):
            process, entry = start_witness(directory, name, signing.verifier_key())
            processes.append(process)
            entries.append(entry)
        settings.AUDIT_WITNESSES, settings.AUDIT_WITNESS_QUORUM = entries, 2
        keys = [notes.VerifierKey.parse(entry["verifier_key"]) for entry in entries]
        signing_s, cosigned_after, short = [], [], 0
        for _ in range(rounds):
            append(events)
            started = time.perf_counter()
            checkpoint = services.sign_checkpoint()
            signed = time.perf_counter()
            witnessing.witness_latest()
            cosigned_after.append(time.perf_counter() - signed)
            signing_s.append(signed - started)
            note = witnessing.cosigned_note(checkpoint, services.checkpoint_note(checkpoint))
            if len(notes.parse(note).verified_by(keys)) != 2:
                short += 1
        witnessed = Checkpoint.objects.filter(cosignatures__isnull=False).distinct().count()
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)

    p50, p95 = statistics.median(cosigned_after), percentile(cosigned_after, 0.95)
    base = statistics.median(signed_only)
    print(f"== witnesses: {rounds} checkpoints of {events} new events each, two witness processes on local ports")
    print(f"load: {load_average()}")
    print("| measure | p50 ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- |")
    print(
        f"| signing a checkpoint (baseline) | {base * 1000:.1f} | {percentile(signed_only, 0.95) * 1000:.1f} "
        f"| {max(signed_only) * 1000:.1f} |"
    )
    worst = max(cosigned_after)
    print(f"| signed -> cosigned by both witnesses | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {worst * 1000:.1f} |")
    print(f"| **cosigned by both / signing** | {p50 / base:.2f} | | |")
    verdict = "met" if p95 <= TARGET_S else "NOT met"
    print(f"target (both cosignatures within {TARGET_S:.0f} s of the signature, p95): {p95:.3f} s, {verdict}")
    print(f"every checkpoint cosigned by both witnesses: {short == 0} ({witnessed} of {rounds} witnessed)")
    return 0 if short == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--events", type=int, default=100, help="events appended before each checkpoint")
    parser.add_argument("--pgdata", type=Path, default=ROOT / ".pgdata", help="the embedded server's data folder")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args()
    stop_on_terminate()
    database = BENCH_DB
    if args.smoke:
        args.rounds, args.events, database = 3, 10, smoke_database(BENCH_DB)
    socket_dir = create_bench_database(args.pgdata, database)
    try:
        with tempfile.TemporaryDirectory() as var_dir:
            setup_django(socket_dir, var_dir, database)
            return run(args.rounds, args.events, Path(var_dir))
    finally:
        drop_bench_database(socket_dir, database)


if __name__ == "__main__":
    sys.exit(main())
