"""Retrospective batch (issue 5): 302 stills, as the Met's retail pilot sent, through submit and run_search.

    .venv/bin/python benchmarks/rfr_bench.py [--stills 302]

Runs against its own database `govern_rfr_bench` on the embedded PostgreSQL server (`.pgdata/`), created afresh,
filled by `seed_demo` (whose custody gallery is enrolled on the way in) and dropped at the end.

The stills: the public-domain astronaut photo (scikit-image), each one cropped, shifted and lit a little
differently, then saved as a JPEG, so that no two are the same file and MTCNN finds one face in each. They are
submitted by a demo officer (`retrospective.submit`: each is checked, encrypted and stored, and the search is
queued) and searched by `retrospective.run_search`, the task a Celery worker runs. For each still that task
decrypts, detects, embeds, queries the custody index and commits the probe with its audit event.

Baseline in the same run: the two models alone (`engine.detect` and `engine.embed`) on the same stills, so the
ratio says what the platform adds around them. One process, `FACE_THREADS` as set (1 by default): a Celery
child runs one batch.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import matching_bench  # noqa: E402
from benchmarks.audit_bench import Load, load_average, machine  # noqa: E402

matching_bench.BENCH_DB = "govern_rfr_bench"


def stills(count: int) -> list[bytes]:
    """`count` different JPEGs of one face: crop, offset and brightness vary with the index."""
    from PIL import Image, ImageEnhance
    from skimage import data

    photo = Image.fromarray(data.astronaut())
    made = []
    for i in range(count):
        left, top = 10 + (i * 7) % 60, (i * 11) % 40
        crop = photo.crop((left, top, left + 420, top + 420)).resize((400, 400))
        crop = ImageEnhance.Brightness(crop).enhance(0.85 + (i % 7) * 0.05)
        out = io.BytesIO()
        crop.save(out, "JPEG", quality=85 + i % 10)
        made.append(out.getvalue())
    return made


def models_only(engine, jpegs: list[bytes]) -> float:
    """Seconds for detect + embed on every still, nothing else."""
    from PIL import Image

    started = time.perf_counter()
    for jpeg in jpegs:
        faces = engine.detect(Image.open(io.BytesIO(jpeg)))
        engine.embed(faces[:1])
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stills", type=int, default=302)
    parser.add_argument("--pgdata", type=Path, default=ROOT / ".pgdata")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}, load average {load_average()}", flush=True)
    socket_dir = matching_bench.create_bench_database(args.pgdata)
    with tempfile.TemporaryDirectory(prefix="govern-rfr-bench-") as var_dir:
        matching_bench.setup_django(socket_dir, var_dir)
        try:
            return run(args)
        finally:
            matching_bench.drop_bench_database(socket_dir)


def run(args) -> int:
    from django.conf import settings
    from django.core.management import call_command

    from apps.accounts.models import User
    from apps.audit.models import Event
    from apps.matching import retrospective
    from apps.matching.choices import ProbeState, SearchState
    from apps.matching.engine import get_engine
    from apps.matching.models import CustodyTemplate, Probe
    from apps.outbox import services as outbox

    print("1. seeding the demo (its custody gallery is enrolled)", flush=True)
    call_command("seed_demo", password="rfr-bench-pass-12345", stdout=io.StringIO())  # noqa: S106 (a throwaway database)
    gallery = CustodyTemplate.objects.count()
    jpegs = stills(args.stills)
    engine = get_engine()
    models_only(engine, jpegs[:3])  # warm-up
    print(f"2. baseline: the models alone on {len(jpegs)} stills", flush=True)
    load = Load()
    baseline = models_only(engine, jpegs)
    baseline_load = load.done()
    officer = User.objects.get(username="officer")
    outbox_after_commit = outbox._after_commit
    outbox._after_commit = lambda pk: None  # keep the batch queued: it is timed on its own below
    try:
        print("3. submit", flush=True)
        started = time.perf_counter()
        search = retrospective.submit(officer, jpegs, incident_reference="BENCH 302", crime_type="Shop theft",
                                      sharing_agreement="")  # fmt: skip
        submit_s = time.perf_counter() - started
    finally:
        outbox._after_commit = outbox_after_commit
    print("4. run_search (the Celery task's body)", flush=True)
    load = Load()
    started = time.perf_counter()
    done = retrospective.run_search(search.pk)
    run_s = time.perf_counter() - started
    run_load = load.done()
    states = dict.fromkeys(ProbeState.values, 0)
    for state in Probe.objects.filter(request=search).values_list("state", flat=True):
        states[state] += 1
    events = Event.objects.filter(action__in=["search.probe_searched", "search.probe_refused"]).count()
    ok = done.state == SearchState.READY and done.processed == len(jpegs) and events == len(jpegs)
    print(f"\nmachine: {machine()}; FACE_THREADS {settings.FACE_THREADS}")
    print(f"custody gallery: {gallery} templates (seed_demo's); stills: {len(jpegs)} JPEGs, "
          f"{sum(map(len, jpegs)) / len(jpegs) / 1024:.0f} KB each on average\n")  # fmt: skip
    print("| measure | result |")
    print("| --- | --- |")
    print(f"| submit: check, encrypt and store {len(jpegs)} stills, queue the search | {submit_s:.2f} s |")
    per_still = run_s / len(jpegs) * 1000
    print(f"| run_search: decrypt, detect, embed, custody query, commit with audit event, per still | {run_s:.1f} s "
          f"= {len(jpegs) / run_s:.1f} stills/s ({per_still:.0f} ms a still); {run_load} |")  # fmt: skip
    print(f"| baseline: detect + embed alone, same stills | {baseline:.1f} s = {len(jpegs) / baseline:.1f} stills/s; "
          f"{baseline_load} |")  # fmt: skip
    print(f"| ratio run_search / models alone | {run_s / baseline:.3f} |")
    print(f"| outcome | state {done.state}, processed {done.processed}/{done.total}, probes {states}, "
          f"{events} audit events |")  # fmt: skip
    print(f"\nall stills processed and logged: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
