"""Load run on loopback (issue 8, part 5): API reads and camera frames through gunicorn, as production serves them.

    .venv/bin/python benchmarks/load_bench.py [--workers 4] [--connections 16] [--duration 15] [--frames 40]
    .venv/bin/python benchmarks/load_bench.py --smoke    (one worker, 1 s per endpoint, 4 frames: the test suite)

It first runs each read in its own process through Django's whole stack (no HTTP) and prints the statements a request
sends and its time there, against `/healthz`'s: what the served figures are made of.

Runs against a dedicated database `govern_load_bench` (with --smoke, `govern_load_bench_smoke_<pid>`) on the embedded
PostgreSQL server (`.pgdata/`), created afresh, filled by `seed_demo` (the demo's accounts, lists, deployments, alerts
and Sarah's Law cases), and dropped at the end. nginx in front of gunicorn (`--serving gunicorn`: gunicorn alone) then
serves Govern with DEBUG off (production settings: keys from files, no debug toolbar, no query log) on a free loopback
port; `wrk` (Debian's package, installed when missing) sends the reads, bounded by `--duration` per endpoint, and this
script sends the frames, bounded by `--frames`.

Reads: the public report of deployments (anonymous), the caller's own account and the list of signed checkpoints
(both with an API token, so every request authenticates). Target: each at >= 300 requests/s with p99 <= 100 ms on a
2-core machine. Baseline in the same run: `/healthz`, which passes through every middleware but touches no
database, so the ratio says what the view and its queries cost.

Frames: one-face JPEGs posted by a van with its camera credential to the live demo deployment; every face must end
as an alert or a deletion receipt (the ledger balances) and no request may fail. Baseline in the same run: the same
frames through `capture_frame` in this process, without HTTP: the pipeline's own rate.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import matching_bench  # noqa: E402
from benchmarks.audit_bench import SMOKE_HELP, Load, load_average, machine, stop_on_terminate  # noqa: E402

matching_bench.BENCH_DB = "govern_load_bench"
TARGET_RPS = 300.0
TARGET_P99_MS = 100.0
PASSWORD = "load-bench-pass-12345"  # noqa: S105  (demo accounts in a throwaway database)


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)
    return shutil.which("wrk")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_face_jpeg() -> bytes:
    """A 640x480 frame holding one demo face, as a van's camera would send it."""
    from benchmarks.live_bench import frame_jpeg

    return frame_jpeg(1, (640, 480))


def prepare() -> dict:
    """Seed the demo, then a token for an officer and one for the oversight account, and the live van's credential."""
    from django.core.management import call_command

    from apps.accounts.models import User
    from apps.accounts.services import accounts
    from apps.deployments.choices import DeploymentState
    from apps.deployments.models import Deployment
    from apps.matching.services import live_capture

    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
    call_command("audit", "checkpoint", stdout=io.StringIO())
    live = Deployment.objects.filter(state=DeploymentState.LIVE).order_by("-start").first()
    assert live is not None, "seed_demo made no live deployment"
    asset = live.assets.first()
    commander = User.objects.get(username="commander")
    _, officer_token = accounts.issue_token(User.objects.get(username="officer"), "load bench")
    # Seeded in a throwaway database as the demo's own accounts, whose authenticators seed_demo enrolled.
    _, oversight_token = accounts.issue_token(User.objects.get(username="oversight"), "load bench", second_factor=True)
    return {
        "deployment": live,
        "asset": asset,
        "camera": live_capture.issue_credential(commander, asset),
        "officer_token": officer_token,
        "oversight_token": oversight_token,
    }


def pipeline_rate(asset, deployment, frame: bytes, count: int) -> float:
    """Frames per second through `capture_frame` in this process: the pipeline's own rate."""
    from apps.matching.services import live_capture

    live_capture.capture_frame(asset, frame, deployment_id=deployment.pk)  # the engine loads outside the timing
    started = time.perf_counter()
    for _ in range(count):
        live_capture.capture_frame(asset, frame, deployment_id=deployment.pk)
    return count / (time.perf_counter() - started)


def server_env(socket_dir: str, var_dir: str, face_threads: int = 1) -> dict:
    """Production settings (DEBUG off) for gunicorn, with the keys seed_demo's run generated in `var_dir`."""
    var = Path(var_dir)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_FILE") and k not in ("DEBUG", "DATABASE_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="govern.settings.base",
        DEBUG="false",
        SECRET_KEY=(var / "dev-secret-key").read_text().strip(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"postgresql://postgres@/{matching_bench.BENCH_DB}?host={socket_dir}",
        GOVERN_VAR_DIR=var_dir,
        AUDIT_SIGNING_KEY_FILE=str(var / "audit-signing-key.pem"),
        IMAGE_ENCRYPTION_KEY_FILE=str(var / "image-encryption.key"),
        RECEIPT_KEY_FILE=str(var / "receipt-hmac.key"),
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        FACE_ALLOW_UNCALIBRATED="true",
        LOG_LEVEL="WARNING",
        FACE_THREADS=str(face_threads),
    )
    env.pop("CELERY_BROKER_URL", None)  # tasks run in-process: the load run measures the web tier
    for name in ("AUDIT_SIGNING_KEY_FILE", "IMAGE_ENCRYPTION_KEY_FILE", "RECEIPT_KEY_FILE"):
        assert Path(env[name]).exists(), f"{name}: {env[name]} was not generated by the seeding run"
    return env


class Server:
    """Govern served on a free loopback port as production serves it (`serving="nginx"`: `python -m govern.serve`,
    nginx in front of gunicorn), or by gunicorn alone (`serving="gunicorn"`: the set-up before issue 20, kept to
    compare against); stopped (the whole group) on exit. Workers and threads go through gunicorn.conf.py.
    `keep_alive` (gunicorn alone only): gunicorn's own defaults instead of the production file's one connection a
    thread and no keep-alive (the read round's wrk keeps its connections open; behind nginx, nginx keeps them)."""

    def __init__(self, env: dict, workers: int, threads: int, keep_alive: bool = False, serving: str = "nginx") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.run_dir = tempfile.mkdtemp(prefix="govern-serve-run-")
        if serving == "nginx":
            command = [sys.executable, "-m", "govern.serve", "--bind", f"127.0.0.1:{self.port}"]
            command += ["--run-dir", self.run_dir]
        else:
            command = [str(ROOT / ".venv/bin/gunicorn"), "govern.wsgi", "--bind", f"127.0.0.1:{self.port}"]
            command += ["--log-level", "warning"]
            if keep_alive:
                command += ["--worker-connections", "1000", "--keep-alive", "2"]
        env = dict(env, WEB_WORKERS=str(workers), WEB_THREADS=str(threads))
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310  (our loopback URL)
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def _latency_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(binary: str, url: str, connections: int, duration: int, token: str | None = None) -> dict:
    """One wrk run: requests/s, p50 and p99 latency, non-2xx responses and socket errors."""
    command = [binary, "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if token:
        command += ["-H", f"Authorization: Token {token}"]
    output = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": _latency_ms(re.search(r"\n\s+50%\s+(\S+)", output).group(1)),
        "p99_ms": _latency_ms(re.search(r"\n\s+99%\s+(\S+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "non_2xx": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output)) else 0,
        "socket_errors": sum(map(int, m.groups())) if (m := re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)) else 0,
    }  # fmt: skip
    return result


def post_frames(url: str, credential: str, deployment_id: int, frame: bytes, count: int, clients: int) -> dict:
    """`count` frames from `clients` concurrent senders; frames/s, and every status other than 201. A sender writes
    the same prepared HTTP/1.1 request on a new connection a frame and reads the answer until the server closes it
    (it keeps none alive): on this machine the senders share the two cores with the server, and urllib's opener
    cost several times as much CPU a frame."""
    statuses: list[int] = []
    faces: list[int] = []
    lock = threading.Lock()
    todo = iter(range(count))
    address = (urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port)
    head = (
        f"POST /api/matching/capture/?deployment={deployment_id} HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\n"
        f"Authorization: Camera {credential}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame)}\r\n"
        "Connection: close\r\n\r\n"
    )
    request = head.encode() + frame

    def sender():
        while True:
            with lock:
                if next(todo, None) is None:
                    return
            try:
                with socket.create_connection(address, timeout=60) as connection:
                    connection.sendall(request)
                    answer = b"".join(iter(lambda: connection.recv(65536), b""))
                status = int(answer.split(b" ", 2)[1])
                body = json.loads(answer.partition(b"\r\n\r\n")[2]) if status == 201 else {}
            except (OSError, IndexError, ValueError):  # reset, timeout or a broken answer: a failed frame, counted
                status, body = 0, {}
            with lock:
                statuses.append(status)
                faces.append(body.get("faces", 0))

    threads = [threading.Thread(target=sender) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {
        "frames_per_s": count / seconds,
        "faces": sum(faces),
        "failed": sum(1 for status in statuses if status != 201),
        "statuses": sorted(set(statuses)),
    }


def ledger(deployment_id: int) -> tuple[int, int, int]:
    from apps.deployments.models import Deployment
    from apps.oversight import reconciliation

    (row,) = reconciliation.ledgers(Deployment.objects.filter(pk=deployment_id))
    return row.faces, row.alerts, row.receipts


def profile_reads(targets: list[tuple[str, str | None]], count: int) -> dict:
    """Each read in this process, through Django's whole stack (middleware, authentication, view, rendering) without
    HTTP: the database queries one request makes, and its mean time; what the served figures are made of."""
    from django.db import connection
    from django.test import Client

    from govern import prepared

    statements = []  # Django's cursors and the driver's prepared statements alike (not the connection's health check)

    def counted(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    prepared_execute = prepared.execute

    def counted_prepared(cursor, sql, params):
        statements.append(sql)
        return prepared_execute(cursor, sql, params)

    prepared.execute = counted_prepared
    client = Client(HTTP_HOST="localhost")
    found = {}
    try:
        with connection.execute_wrapper(counted):
            for path, token in targets:
                headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
                for _ in range(3):  # warm: first use of a code path, caches
                    assert client.get(path, **headers).status_code == 200, path
                statements.clear()
                client.get(path, **headers)
                queries = len(statements)
                started = time.perf_counter()
                for _ in range(count):
                    client.get(path, **headers)
                found[path] = {"queries": queries, "ms": (time.perf_counter() - started) * 1000 / count}
    finally:
        prepared.execute = prepared_execute
    return found


def report(host: dict, args, reads: dict, frames: dict) -> None:
    print(f"\nmachine: {host}")
    print(f"serving: {args.serving}; gunicorn: {args.workers} workers x {args.threads} threads; wrk: 2 threads, "
          f"{args.connections} connections, {args.duration} s per endpoint")  # fmt: skip
    if getattr(args, "profiled", None):
        print("\n| endpoint | queries a request | in-process ms a request | vs /healthz in-process |")
        print("| --- | --- | --- | --- |")
        base_ms = args.profiled["/healthz"]["ms"]
        for path, row in args.profiled.items():
            print(f"| `{path}` | {row['queries']} | {row['ms']:.2f} | {row['ms'] / base_ms:.1f}x |")
    print("\n| endpoint | requests/s | p50 ms | p99 ms | requests | non-2xx | socket errors | vs /healthz | target |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    base = reads["/healthz"]["rps"] if reads else 1.0
    for path, row in reads.items():
        met = "" if path == "/healthz" else ("met" if row["rps"] >= TARGET_RPS and row["p99_ms"] <= TARGET_P99_MS
                                             else "MISSED")  # fmt: skip
        print(f"| `{path}` | {row['rps']:,.0f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['requests']:,} "
              f"| {row['non_2xx']} | {row['socket_errors']} | {row['rps'] / base:.2f} | {met} |")  # fmt: skip
    print(f"\nframes: {frames['count']} one-face frames from {frames['clients']} senders: "
          f"{frames['http']['frames_per_s']:.2f} frames/s over HTTP vs {frames['pipeline']:.2f} in-process "
          f"(ratio {frames['http']['frames_per_s'] / frames['pipeline']:.2f}); failed {frames['http']['failed']}, "
          f"statuses {frames['http']['statuses']}; ledger faces/alerts/receipts {frames['ledger']}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=15, help="seconds of wrk per endpoint")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--frame-clients", type=int, default=2)
    parser.add_argument("--face-threads", type=int, default=1, help="torch threads per gunicorn worker")
    parser.add_argument("--skip-reads", action="store_true", help="frames only")
    parser.add_argument(
        "--serving",
        choices=["nginx", "gunicorn"],
        default="nginx",
        help="nginx in front of gunicorn (production), or gunicorn alone (the set-up before issue 20)",
    )
    # The settings' GOVERN_PGDATA when set, as Govern itself reads it (a worktree shares its checkout's server).
    parser.add_argument("--pgdata", type=Path, default=Path(os.environ.get("GOVERN_PGDATA") or ROOT / ".pgdata"))
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    if args.smoke:
        args.workers, args.threads, args.connections, args.duration = 1, 2, 2, 1
        args.frames, args.frame_clients, args.skip_reads = 4, 2, False
        matching_bench.use_smoke_database()
    binary = ensure_wrk()
    host = machine()
    print(f"machine: {host}, load average {load_average()}", flush=True)
    socket_dir = matching_bench.create_bench_database(args.pgdata)
    with tempfile.TemporaryDirectory(prefix="govern-load-bench-") as var_dir:
        matching_bench.setup_django(socket_dir, var_dir)
        try:
            print("1. seeding the demo", flush=True)
            seeded = prepare()
            deployment, asset = seeded["deployment"], seeded["asset"]
            frame = one_face_jpeg()
            print("2. baseline: frames through capture_frame in this process", flush=True)
            pipeline = pipeline_rate(asset, deployment, frame, max(5, args.frames // 4))
            targets = [
                ("/healthz", None),
                ("/api/deployments/published/", None),
                ("/api/accounts/me/", seeded["officer_token"]),
                ("/api/audit/checkpoints/", seeded["oversight_token"]),
            ]
            print("2b. the reads in this process: queries and time a request", flush=True)
            args.profiled = profile_reads(targets, 20 if args.smoke else 300)
            from django.db import connections

            connections.close_all()
            reads = {}
            env = server_env(socket_dir, var_dir, args.face_threads)
            with Server(env, args.workers, args.threads, keep_alive=True, serving=args.serving) as server:
                for path, token in [] if args.skip_reads else targets:
                    wrk(binary, server.url + path, args.connections, min(2, args.duration), token)  # warm every worker
                    load = Load()
                    reads[path] = wrk(binary, server.url + path, args.connections, args.duration, token)
                    print(f"3. {path}: {reads[path]['rps']:,.0f} requests/s, p99 {reads[path]['p99_ms']:.1f} ms; "
                          f"{load.done()}", flush=True)  # fmt: skip
                # Each worker loads the face engine on its first frame: warm them all before timing.
                post_frames(server.url, seeded["camera"], deployment.pk, frame, 3 * args.workers, args.workers)
                load = Load()
                http = post_frames(server.url, seeded["camera"], deployment.pk, frame, args.frames, args.frame_clients)
                print(f"4. frames: {http['frames_per_s']:.2f}/s over HTTP; {load.done()}", flush=True)
            frames = {
                "count": args.frames,
                "clients": args.frame_clients,
                "pipeline": pipeline,
                "http": http,
                "ledger": ledger(deployment.pk),
            }
            report(host, args, reads, frames)
            faces, alerts, receipts = frames["ledger"]
            balanced = faces == alerts + receipts
            print(f"ledger balanced: {balanced}")
            missed = [
                p
                for p, r in reads.items()
                if p != "/healthz" and (r["rps"] < TARGET_RPS or r["p99_ms"] > TARGET_P99_MS)
            ]
            errors = http["failed"] + sum(r["non_2xx"] + r["socket_errors"] for r in reads.values())
            return 0 if balanced and not errors and (args.smoke or not missed) else 1
        finally:
            matching_bench.drop_bench_database(socket_dir)


if __name__ == "__main__":
    stop_on_terminate()
    sys.exit(main())
