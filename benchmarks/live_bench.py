"""Live pipeline on the whole machine (issue 5): faces/s end to end, and the platform's overhead over the models.

    .venv/bin/python benchmarks/live_bench.py [--frames 240] [--workers 2] [--threads 6] [--senders 12]
                                              [--batch 4] [--faces-per-frame 1] [--size 640x480]
                                              [--capture worker|web]
    .venv/bin/python benchmarks/live_bench.py --smoke    (one worker, 4 frames a round, both rounds: the test suite)

Target (2 cores): >= 20 faces/s end to end, and the platform's time <= 10 % over the raw model time of the same run.

End to end: Govern is served as production serves it (nginx in front of gunicorn, `--serving gunicorn` for gunicorn
alone; `gunicorn.conf.py`: one process per core, request threads, DEBUG off, keys from files; `benchmarks/load_bench.py`
sets it up on a throwaway database `govern_load_bench`, with --smoke `govern_load_bench_smoke_<pid>`, filled by
`seed_demo`). `--senders` threads post JPEG frames with the live demo van's camera credential to
`/api/matching/capture/`, each waiting for its answer before sending the next, as a van's uploader would. Every frame is
checked, detected, embedded, matched against the deployment's authorised list and recorded (alerts with their encrypted
probe crops, deletion receipts, audit events, the deployment's figures) before its 201.

Two rounds, each with the ledger checked (faces = alerts + receipts, no request failed):
- receipts: the list's templates negated in the throwaway database before the server starts, so no face matches
  (the common case: most faces a van sees are not on the list; the engine here is uncalibrated and maps every face
  near every other, so the demo face would otherwise match);
- alerts: the templates as enrolled, every face the listed person, each an alert with its encrypted crop.
Each round starts its own server (the workers keep a list's templates in memory) and warms every worker first.

Where the models run (`--capture`, issue 25 point 5): `worker` (the default, as production runs it since then) serves
the frames with `--workers` capture workers beside gunicorn (`celery -A govern worker -Q capture --pool threads`, each
with `--threads` threads, on a private Redis of this run's), gunicorn admitting each frame and waiting for the worker's
answer; `web` runs the models in gunicorn's request threads, as before (no broker). `--capture worker web` runs both
in turn, each round of each beside its own raw-model chunks, so their overheads compare in one run.

Baseline, the raw model time, in the same run: `--workers` processes (one per core), each with one torch thread,
detect the same frames one by one and embed the faces of `--batch` frames at a time (the server's
FACE_BATCH_FRAMES, at which its gate starts a pass), with nothing else: no HTTP, no JPEG checks, no database. The
machine's speed drifts by a third either way over minutes, so each round alternates `--chunks` chunks of the models
alone with chunks end to end and compares the sums: overhead = raw model rate / end-to-end rate - 1. Also, to show
what batching across frames gives, the raw rate with every face embedded alone.

The same overhead by CPU time: the CPU a face of the platform (the gunicorn processes, the capture workers and their
Redis, and the PostgreSQL server, from /proc) over the CPU a face of the raw models' processes (their own process time
while timed). The rate ratio above also charges the platform with this script's senders, which stand in for the vans'
uploaders but share the two cores here, and with the machine's other processes and any idle time; the CPU ratio does
not.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.audit_bench import SMOKE_HELP, stop_on_terminate  # noqa: E402

TARGET_FACES_PER_S, TARGET_OVERHEAD = 20.0, 0.10


def frame_jpeg(faces: int, size: tuple[int, int]) -> bytes:
    """A camera frame of `size` holding `faces` copies of the demo face, side by side."""
    from PIL import Image

    face = Image.open(ROOT / "apps/watchlists/demo_faces/astronaut.jpg").convert("RGB")
    width, height = size
    face.thumbnail((min(260, width // max(1, faces)), min(260, height)))
    frame = Image.new("RGB", size, (90, 96, 104))
    left = (width - faces * face.width) // 2
    for number in range(faces):
        frame.paste(face, (left + number * face.width, (height - face.height) // 2))
    buffer = io.BytesIO()
    frame.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def models_only(frame: bytes, count: int, batch: int, min_face_size: int) -> None:
    """A child process: load the engine, say ready, wait for go, then time the models alone on `count` frames."""
    from django.conf import settings

    settings.configure(
        FACE_WEIGHTS=None,
        FACE_ALLOW_DOWNLOAD=False,
        FACE_SEED=0,
        FACE_THREADS=1,
        FACE_BATCH_SIZE=32,
        FACE_BATCH_FRAMES=batch,
        FACE_MIN_SIZE=min_face_size,
    )
    from PIL import Image

    from apps.matching.engine import FacenetEngine

    engine = FacenetEngine()
    image = Image.open(io.BytesIO(frame))
    engine.embed(engine.detect(image))  # first passes outside the timing
    print("ready", flush=True)
    sys.stdin.readline()
    started, cpu, waiting, frames, faces = time.perf_counter(), time.process_time(), [], 0, 0
    for _ in range(count):
        waiting += engine.detect(Image.open(io.BytesIO(frame)))
        frames += 1
        if frames == batch:
            faces += len(engine.embed(waiting))
            waiting, frames = [], 0
    faces += len(engine.embed(waiting))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "faces": faces, "cpu": cpu}), flush=True)


def raw_model_rate(frame: bytes, count: int, processes: int, batch: int, min_face_size: int) -> dict:
    """Faces/s of the models alone in `processes` processes at once, `count` frames in all."""
    share = [count // processes + (1 if n < count % processes else 0) for n in range(processes)]
    children = []
    with tempfile.NamedTemporaryFile(suffix=".jpg") as handle:
        handle.write(frame)
        handle.flush()
        for frames in share:
            command = [sys.executable, __file__, "--models-only", handle.name, str(frames), str(batch)]
            command.append(str(min_face_size))
            env = dict(os.environ, OMP_NUM_THREADS="1")
            children.append(
                subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
            )
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        results = [json.loads(child.stdout.readline()) for child in children]
        for child in children:
            child.wait(timeout=60)
    seconds = max(result["seconds"] for result in results)
    faces = sum(result["faces"] for result in results)
    cpu = sum(result["cpu"] for result in results)
    return {"faces": faces, "seconds": seconds, "faces_per_s": faces / seconds, "cpu": cpu}


def cpu_seconds(pgdata: Path) -> dict[str, float]:
    """CPU time used so far, summed by kind: the web tier (nginx, gunicorn and govern.serve), the PostgreSQL server
    in `pgdata` (its postmaster and every backend, including backends that have exited: a worker's connection is
    closed and reopened every CONN_MAX_AGE seconds, and the postmaster's reaped children count in its cutime and
    cstime), this script (the senders, standing in for the vans' uploaders), and every other process on the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    postmaster = (pgdata / "postmaster.pid").read_text().split()[0]
    totals = {"web": 0.0, "capture": 0.0, "postgres": 0.0, "senders": 0.0, "other": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        if entry.name == postmaster:
            used += (int(fields[13]) + int(fields[14])) / ticks  # cutime + cstime: its exited backends
        ours = postmaster in (entry.name, fields[1])  # the postmaster, or one of its children
        web = any(name in command for name in ("gunicorn", "nginx", "govern.serve"))
        capture = CAPTURE_MARK in command  # this run's capture workers and their Redis
        kind = "web" if web else "capture" if capture else "postgres" if ours else "other"
        kind = "senders" if entry.name == str(os.getpid()) else kind
        totals[kind] += used
    return totals


CAPTURE_MARK = f"govern-live-bench-capture-{os.getpid()}"


class CaptureWorkers:
    """`processes` capture workers of `threads` threads each on a private Redis (no persistence), for a Server given
    `env` (the broker's URL and key prefix added to it); stopped on exit."""

    def __init__(self, env: dict, processes: int, threads: int) -> None:
        from benchmarks.load_bench import free_port

        port = free_port()
        self.folder = tempfile.mkdtemp(prefix="govern-live-bench-redis-")
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.folder, "--loglevel", "warning", "--logfile", "", "--proc-title-template",
             f"{{title}} {CAPTURE_MARK}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.env = dict(env, CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0", CELERY_KEY_PREFIX="bench:")
        self.workers = [self._worker(number, threads) for number in range(processes)]

    def _worker(self, number: int, threads: int) -> subprocess.Popen:
        log = Path(self.folder) / f"capture{number}.log"
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "govern", "worker", "-Q", "capture", "-n",
             f"capture{number}-{CAPTURE_MARK}@%h", "--pool", "threads", "--concurrency", str(threads),
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
             "--logfile", str(log)],
            cwd=ROOT, env=self.env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def __enter__(self) -> CaptureWorkers:
        """Once every worker has loaded its engine and said it is ready (its log, in this run's folder)."""
        deadline = time.monotonic() + 300
        for number, worker in enumerate(self.workers):
            log = Path(self.folder) / f"capture{number}.log"
            while not (log.exists() and " ready." in log.read_text()):
                if worker.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"capture worker {number} did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        for process in [*self.workers, self.redis]:
            os.killpg(process.pid, signal.SIGTERM) if process in self.workers else process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def negate_templates(watchlist_id: int) -> None:
    """Turn the list's templates into their opposites (exactly reversible in float16): the uncalibrated engine maps
    every face near every other (cosine ~0.9999, and above 1.000 against float16 templates), so this is the only way
    to make its faces miss the list, as most faces a van sees do."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE matching_watchlisttemplate SET embedding = (SELECT array_agg(-x ORDER BY i) "
            "FROM unnest(embedding::real[]) WITH ORDINALITY AS u(x, i))::halfvec WHERE watchlist_id = %s",
            [watchlist_id],
        )
        assert cursor.rowcount > 0, "the live deployment's list has no templates"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=240, help="frames per round")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--threads", type=int, default=6, help="request threads per gunicorn worker")
    parser.add_argument("--senders", type=int, default=12, help="frames in flight at once")
    parser.add_argument(
        "--batch", type=int, default=4, help="frames a pass for the baseline, and FACE_BATCH_FRAMES for the server"
    )
    parser.add_argument("--faces-per-frame", type=int, default=1)
    parser.add_argument("--size", default="640x480", help="frame size, WIDTHxHEIGHT")
    parser.add_argument("--chunks", type=int, default=6, help="alternations of raw models and end to end a round")
    parser.add_argument("--rounds", nargs="+", choices=["receipts", "alerts"], default=["receipts", "alerts"])
    parser.add_argument(
        "--min-face-size", type=int, default=40, help="FACE_MIN_SIZE for the baseline and the server (the default: 40)"
    )
    parser.add_argument(
        "--serving",
        choices=["nginx", "gunicorn"],
        default="nginx",
        help="nginx in front of gunicorn (production), or gunicorn alone (the set-up before issue 20)",
    )
    parser.add_argument(
        "--capture",
        nargs="+",
        choices=["worker", "web"],
        default=["worker"],
        help="where the models run: capture workers beside gunicorn (production), or gunicorn's threads (before)",
    )
    parser.add_argument("--pgdata", type=Path, default=ROOT / ".pgdata")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    parser.add_argument("--models-only", nargs=4, metavar=("JPEG", "FRAMES", "BATCH", "MIN"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.models_only:
        path, count, batch, min_face_size = args.models_only
        models_only(Path(path).read_bytes(), int(count), int(batch), int(min_face_size))
        return 0

    from benchmarks import load_bench, matching_bench
    from benchmarks.audit_bench import Load, load_average, machine

    if args.smoke:
        args.frames, args.workers, args.threads, args.senders, args.chunks = 4, 1, 2, 2, 1
        args.rounds = ["receipts", "alerts"]
        args.capture = ["worker", "web"]
        matching_bench.use_smoke_database()

    width, height = map(int, args.size.split("x"))
    frame = frame_jpeg(args.faces_per_frame, (width, height))
    host = machine()
    print(f"machine: {host}, load average {load_average()}", flush=True)
    print(f"frame: {width}x{height} JPEG, {len(frame):,} bytes, {args.faces_per_frame} face(s)", flush=True)

    chunk = max(1, args.frames // args.chunks)
    print("1. baseline: each face embedded alone", flush=True)
    alone = raw_model_rate(frame, chunk, args.workers, 1, args.min_face_size)["faces_per_s"]

    socket_dir = matching_bench.create_bench_database(args.pgdata)
    rounds = {}
    with tempfile.TemporaryDirectory(prefix="govern-live-bench-") as var_dir:
        matching_bench.setup_django(socket_dir, var_dir)
        try:
            print("2. seeding the demo", flush=True)
            seeded = load_bench.prepare()
            from govern import keyfiles

            keyfiles.receipt_key()  # generated here (DEBUG) for the server, which reads keys from files
            deployment = seeded["deployment"]
            from django.db import connections

            connections.close_all()
            env = dict(load_bench.server_env(socket_dir, var_dir, 1), FACE_BATCH_FRAMES=str(args.batch))
            env["FACE_MIN_SIZE"] = str(args.min_face_size)
            negated = False
            for mode, name in [(mode, name) for mode in args.capture for name in args.rounds]:
                if negated != (name == "receipts"):
                    negate_templates(deployment.watchlist_id)
                    negated = not negated
                capture = CaptureWorkers(env, args.workers, args.threads) if mode == "worker" else None
                served = capture.env if capture else env
                with (
                    capture or contextlib.nullcontext(),
                    load_bench.Server(served, args.workers, args.threads, serving=args.serving) as server,
                ):
                    post = functools.partial(
                        load_bench.post_frames, server.url, seeded["camera"], deployment.pk, frame, clients=args.senders
                    )
                    post(count=3 * args.workers * args.threads)  # every worker loads its engine and the templates
                    before = load_bench.ledger(deployment.pk)
                    connections.close_all()
                    # The machine's speed drifts over minutes (a third either way here): the round alternates
                    # chunks of the models alone and chunks end to end, and compares their sums.
                    raw_faces = raw_seconds = e2e_seconds = failed = 0
                    load, cpu = Load(), dict.fromkeys(("web", "capture", "postgres", "senders", "other"), 0.0)
                    raw_cpu = 0.0
                    for _ in range(args.chunks):
                        result = raw_model_rate(frame, chunk, args.workers, args.batch, args.min_face_size)
                        raw_faces, raw_seconds = raw_faces + result["faces"], raw_seconds + result["seconds"]
                        raw_cpu += result["cpu"]
                        cpu_before = cpu_seconds(args.pgdata)
                        sent = post(count=chunk)
                        for kind, used in cpu_seconds(args.pgdata).items():
                            cpu[kind] += used - cpu_before[kind]
                        e2e_seconds += chunk / sent["frames_per_s"]
                        failed += sent["failed"]
                    after = load_bench.ledger(deployment.pk)
                raw = raw_faces / raw_seconds
                faces, alerts, receipts = (now - then for now, then in zip(after, before, strict=True))
                faces_per_s = faces / e2e_seconds
                key = f"{name}, models in {'capture workers' if mode == 'worker' else 'gunicorn'}"
                rounds[key] = {
                    "round": name,
                    "where": "capture workers" if mode == "worker" else "gunicorn",
                    "faces_per_s": faces_per_s,
                    "raw": raw,
                    "failed": failed,
                    "ledger": (faces, alerts, receipts),
                    "overhead": raw / faces_per_s - 1,
                    "cpu_ms_per_face": {kind: 1000 * used / max(1, faces) for kind, used in cpu.items()},
                    "raw_cpu_ms_per_face": 1000 * raw_cpu / raw_faces,
                }
                print(f"3. {key}: {faces_per_s:.2f} faces/s end to end, raw models {raw:.2f} beside it; "
                      f"faces/alerts/receipts {faces}/{alerts}/{receipts}, failed {failed}; {load.done()}",
                      flush=True)  # fmt: skip
                spent = ", ".join(f"{kind} {ms:.1f}" for kind, ms in rounds[key]["cpu_ms_per_face"].items())
                raw_cpu_ms = rounds[key]["raw_cpu_ms_per_face"]
                used = rounds[key]["cpu_ms_per_face"]
                platform = used["web"] + used["capture"] + used["postgres"]
                rounds[key]["cpu_overhead"] = platform / raw_cpu_ms - 1
                over = rounds[key]["cpu_overhead"]
                print(f"   CPU ms a face: {spent}; the raw models alone {raw_cpu_ms:.1f}; the platform (web tier, "
                      f"capture workers and PostgreSQL) over the models alone: {over:+.3f}", flush=True)  # fmt: skip
        finally:
            matching_bench.drop_bench_database(socket_dir)

    print(f"\nmachine: {host}")
    print(
        f"serving: {args.serving}; gunicorn: {args.workers} workers x {args.threads} threads; {args.senders} senders; "
        f"{args.frames} frames a round of {width}x{height}, {args.faces_per_frame} face(s) each, "
        f"FACE_MIN_SIZE {args.min_face_size}; models in: {', '.join(args.capture)} "
        f"(worker: {args.workers} capture workers x {args.threads} threads)"
    )
    print("\n| measure | faces/s | ratio to the raw models beside it | CPU a face: platform over models | target |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| raw models, each face embedded alone (before the rounds) | {alone:.2f} | | | |")
    ok = True
    for row in rounds.values():
        faces, alerts, receipts = row["ledger"]
        met = row["faces_per_s"] >= TARGET_FACES_PER_S and row["overhead"] <= TARGET_OVERHEAD
        expected = receipts if row["round"] == "receipts" else alerts
        sent = args.chunks * max(1, args.frames // args.chunks) * args.faces_per_frame
        balanced = faces == alerts + receipts == expected == sent and not row["failed"]
        ok = ok and (met or args.smoke) and balanced
        print(f"| end to end, {row['round']} ({alerts} alerts, {receipts} receipts), models in {row['where']}; "
              f"raw models, {args.batch} frames a pass, "
              f"beside it: {row['raw']:.2f} | {row['faces_per_s']:.2f} | {row['faces_per_s'] / row['raw']:.2f}; "
              f"overhead {row['overhead']:+.3f} | {row['cpu_overhead']:+.3f} | "
              f">= {TARGET_FACES_PER_S:.0f}, <= +{TARGET_OVERHEAD:.2f}: {'met' if met else 'missed'}"
              f"{'' if balanced else '; LEDGER OR REQUESTS FAILED'} |")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    stop_on_terminate()
    sys.exit(main())
