"""What a live frame costs beyond the models (issue 5): CPU, database round trips and statements, in one process.

    .venv/bin/python benchmarks/frame_cost.py [--frames 300] [--faces-per-frame 1] [--alerts] [--profile 25]
    .venv/bin/python benchmarks/frame_cost.py --smoke    (50 frames: the test suite runs it)

The live target is the platform's time <= 10 % over the raw model time (benchmarks/live_bench.py measures it end to
end under gunicorn). This isolates the platform's share: Django's WSGI handler is called directly, in this process,
with the request a van's uploader sends (a 640x480 JPEG, the camera's credential), and the face engine's answer for
that frame is computed once and then reused, so the models cost nothing here and everything measured is the
platform's: HTTP handling in Django, the credential, admission, the JPEG checks, matching against the list, and the
frame's transaction (capture, receipts or alerts, audit events, the deployment's figures).

Reported a frame: this process's CPU, the PostgreSQL backend's CPU (from /proc), wall time, and the statements the
driver sent (Django's and the driver's own cursors both count). `--profile N` prints cProfile's N heaviest
functions by cumulative time.

Runs against the throwaway database `govern_load_bench` (with --smoke, `govern_load_bench_smoke_<pid>`; dropped at
the end), seeded by `seed_demo`, as live_bench.py does.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import live_bench  # noqa: E402
from benchmarks.audit_bench import SMOKE_HELP, stop_on_terminate  # noqa: E402


def backend_cpu(pid: int) -> float:
    """CPU seconds a PostgreSQL backend has used (utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_statements() -> list[int]:
    """Count every statement psycopg sends from now on (a one-element list, incremented in place)."""
    import psycopg

    sent = [0]
    for cls in (psycopg.Cursor, psycopg.ServerCursor):
        original = cls.execute

        def execute(self, *args, _original=original, **kwargs):
            sent[0] += 1
            return _original(self, *args, **kwargs)

        cls.execute = execute
    for name in ("commit", "rollback"):
        original = getattr(psycopg.Connection, name)

        def finish(self, _original=original):
            sent[0] += 1
            return _original(self)

        setattr(psycopg.Connection, name, finish)
    return sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--faces-per-frame", type=int, default=1)
    parser.add_argument("--alerts", action="store_true", help="every face on the list (default: no face on it)")
    parser.add_argument("--threads", type=int, default=1, help="post from this many threads at once (own connections)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print cProfile's N heaviest functions")
    parser.add_argument("--pgdata", type=Path, default=ROOT / ".pgdata")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)

    from benchmarks import load_bench, matching_bench
    from benchmarks.audit_bench import machine

    if args.smoke:
        args.frames = 50
        matching_bench.use_smoke_database()

    frame = live_bench.frame_jpeg(args.faces_per_frame, (640, 480))
    socket_dir = matching_bench.create_bench_database(args.pgdata)
    with tempfile.TemporaryDirectory(prefix="govern-frame-cost-") as var_dir:
        matching_bench.setup_django(socket_dir, var_dir)
        try:
            seeded = load_bench.prepare()
            deployment = seeded["deployment"]
            if not args.alerts:
                live_bench.negate_templates(deployment.watchlist_id)
            return measure(args, frame, seeded, machine())
        finally:
            matching_bench.drop_bench_database(socket_dir)


def measure(args, frame: bytes, seeded: dict, host: dict) -> int:
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from PIL import Image

    from apps.matching.engine import get_engine

    settings.DEBUG = False  # as in production: no query log
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    engine = get_engine()
    answer = engine.detect_and_embed(Image.open(io.BytesIO(frame)))
    assert len(answer[0]) == args.faces_per_frame, f"the engine found {len(answer[0])} faces"
    engine.detect_and_embed = lambda image: answer  # the models' answer, computed once

    handler = WSGIHandler()
    path = "/api/matching/capture/"
    query = f"deployment={seeded['deployment'].pk}"

    def post() -> int:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_AUTHORIZATION": f"Camera {seeded['camera']}",
            "CONTENT_TYPE": "image/jpeg",
            "CONTENT_LENGTH": str(len(frame)),
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(frame),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status = []
        body = b"".join(handler(environ, lambda code, headers, exc_info=None: status.append(code)))
        assert status[0].startswith("201"), (status, body[:300])
        return int(status[0][:3])

    for _ in range(20):  # warm: the list's templates, the connection, the first-use caches
        post()
    if args.threads > 1:
        return measure_threads(args, post, host)
    sent = count_statements()
    backend = connection.connection.info.backend_pid
    profiler = cProfile.Profile() if args.profile else None
    server_before = live_bench.cpu_seconds(args.pgdata)["postgres"]
    pg_before, cpu_before = backend_cpu(backend), resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(args.frames):
        post()
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    assert connection.connection.info.backend_pid == backend, "the connection was replaced during the run"
    python_cpu = cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
    pg_cpu = backend_cpu(backend) - pg_before
    server_cpu = live_bench.cpu_seconds(args.pgdata)["postgres"] - server_before

    per = 1000 / args.frames
    print(f"machine: {host}")
    print(f"{args.frames} frames of {args.faces_per_frame} face(s), {'alerts' if args.alerts else 'receipts'}; "
          f"the models' answer reused{'; under cProfile' if profiler else ''}")  # fmt: skip
    print("\n| a frame | this process's CPU | PostgreSQL: its backend / the whole server | wall | statements sent |")
    print("| --- | --- | --- | --- | --- |")
    row = [f"{python_cpu * per:.2f} ms", f"{pg_cpu * per:.2f} / {server_cpu * per:.2f} ms", f"{wall * per:.2f} ms"]
    row.append(f"{sent[0] / args.frames:.1f}")
    print(f"| | {' | '.join(row)} |")
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(args.profile)
        stats.sort_stats("tottime").print_stats(args.profile)
    return 0


def measure_threads(args, post, host: dict) -> int:
    """The frames posted from several threads at once, as gunicorn's request threads do: the PostgreSQL server's CPU
    a frame under contention for the log's head and the figures' row, against one thread."""
    import threading

    from django.db import connection

    todo, lock = iter(range(args.frames)), threading.Lock()

    def worker():
        post()  # this thread's own connection, opened outside the count
        while True:
            with lock:
                if next(todo, None) is None:
                    break
            post()
        connection.close()

    server_before, cpu_before = live_bench.cpu_seconds(args.pgdata)["postgres"], time.process_time()
    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    frames = args.frames + args.threads
    server = live_bench.cpu_seconds(args.pgdata)["postgres"] - server_before
    per = 1000 / frames
    print(f"machine: {host}")
    print(f"{frames} frames from {args.threads} threads, {args.faces_per_frame} face(s) each")
    print(f"| a frame | this process's CPU {(time.process_time() - cpu_before) * per:.2f} ms | PostgreSQL server "
          f"{server * per:.2f} ms | wall {wall * per:.2f} ms |")  # fmt: skip
    return 0


if __name__ == "__main__":
    stop_on_terminate()
    sys.exit(main())
