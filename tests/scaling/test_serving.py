"""Idle, slow and half-sent clients cannot stop the server (issue 20, item 1).

Govern runs as production runs it (`python -m govern.serve`: nginx in front of gunicorn) on a throwaway cluster with
a live deployment. 200 connections that send nothing and 20 uploads that trickle their body stay open while
`/healthz`, a page and a camera's frame must each be answered within a second; then again once they have closed.
Under gunicorn alone (gunicorn.conf.py's one connection a thread) six idle connections were enough to stop a worker
for good (gunicorn issue 3146, docs/security.md).
"""

import contextlib
import io
import json
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from PIL import Image

from tests.pgcluster import free_port
from tests.processes import stop
from tests.scaling.conftest import ROOT, govern_environment, manage

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

IDLE, SLOW = 200, 20
ANSWER_WITHIN = 1.0  # seconds
TIMEOUT = 5  # SERVE_HEADER_TIMEOUT and SERVE_BODY_TIMEOUT for this server


def _timed(method: str, url: str, **options) -> tuple[int, float]:
    started = time.monotonic()
    response = requests.request(method, url, timeout=30, **options)
    return response.status_code, time.monotonic() - started


class Attack:
    """Connections that send nothing, and uploads that send a byte a second of a body they never finish."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sockets: list[socket.socket] = []
        self.stop = threading.Event()
        self.trickler = threading.Thread(target=self._trickle, daemon=True)

    def open(self) -> None:
        for _ in range(IDLE):
            self.sockets.append(socket.create_connection(("127.0.0.1", self.port), timeout=5))
        self.slow = []
        for _ in range(SLOW):
            upload = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            upload.sendall(
                b"POST /api/matching/capture/?deployment=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: image/jpeg\r\nContent-Length: 1000000\r\n\r\n\xff"
            )
            self.slow.append(upload)
        self.trickler.start()

    def _trickle(self) -> None:
        while not self.stop.wait(1.0):
            for upload in self.slow:
                with contextlib.suppress(OSError):
                    upload.sendall(b"\x00")

    def close(self) -> None:
        self.stop.set()
        self.trickler.join()
        for connection in self.sockets + self.slow:
            connection.close()


def _serve(environment: dict, port: int, run_dir, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "govern.serve", "--bind", f"127.0.0.1:{port}", "--run-dir", str(run_dir)],
        cwd=ROOT, env=environment, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def test_idle_and_slow_clients_do_not_stop_health_pages_or_frames(primary, tmp_path):
    from skimage import data  # enrolled on the seeded list: every frame alerts

    environment = govern_environment(
        tmp_path, primary.url(), WEB_WORKERS="2", SERVE_HEADER_TIMEOUT=str(TIMEOUT), SERVE_BODY_TIMEOUT=str(TIMEOUT)
    )
    manage(environment, "migrate", "--noinput", "-v", "0")
    seeded = subprocess.run([sys.executable, "-m", "tests.scaling.seed_live", "0"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    frame = io.BytesIO()
    Image.fromarray(data.astronaut()).save(frame, "JPEG", quality=92)
    camera = {"Authorization": f"Camera {seed['camera']}", "Content-Type": "image/jpeg"}
    port, log = free_port(), tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    capture = f"{base}/api/matching/capture/?deployment={seed['deployment']}"

    server = _serve(environment, port, tmp_path / "serve", log)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        # Both workers load the face engine before anything is timed: more frames at once than one worker takes.
        for _round in range(3):
            warm = [threading.Thread(target=requests.post, args=(capture,), kwargs={"data": frame.getvalue(),
                                     "headers": camera, "timeout": 120}) for _ in range(12)]  # fmt: skip
            for thread in warm:
                thread.start()
            for thread in warm:
                thread.join()

        def answered() -> dict:
            return {
                "healthz": _timed("GET", f"{base}/healthz"),
                "page": _timed("GET", f"{base}/accounts/login/"),
                "frame": _timed("POST", capture, data=frame.getvalue(), headers=camera),
            }

        attack = Attack(port)
        attack.open()
        try:
            during = answered()
            assert during["healthz"][0] == 200 and during["page"][0] == 200 and during["frame"][0] == 201, during
            assert all(seconds < ANSWER_WITHIN for _status, seconds in during.values()), during
            time.sleep(2)
            again = answered()
            assert all(seconds < ANSWER_WITHIN for _status, seconds in again.values()), again
            # The uploads that never finish are still open (they keep sending); the idle ones are dropped by nginx
            # once SERVE_HEADER_TIMEOUT has passed.
            time.sleep(TIMEOUT + 1)
            idle = attack.sockets[0]
            idle.settimeout(2)
            with contextlib.suppress(ConnectionResetError):
                assert idle.recv(1024) == b""
        finally:
            attack.close()
        after = answered()
        assert after["healthz"][0] == 200 and after["frame"][0] == 201, after
        assert all(seconds < ANSWER_WITHIN for _status, seconds in after.values()), after
        assert server.poll() is None, log.read_text()
    finally:
        stop(server)


def test_nginx_refuses_what_it_will_not_pass_on_with_a_plain_sentence(tmp_path, monkeypatch):
    """The refusals nginx makes itself (oversized body, overlong address, stalled client) say why in plain text."""
    from govern import serve

    monkeypatch.setenv("MAX_REQUEST_BODY_BYTES", "2048")
    conf = serve.nginx_conf(tmp_path, "127.0.0.1:9", tmp_path / "gunicorn.sock", None, access_log=True)
    assert "client_max_body_size 2048;" in conf
    assert 'return 413 "Request body too large: limit 2048 bytes.' in conf
    assert "client_header_timeout 10s;" in conf and "client_body_timeout 10s;" in conf
    assert "$request_method $uri" in conf and "$request " not in conf  # never the query string in the access log
    written, _socket, private = serve.prepare(tmp_path, "127.0.0.1:9", access_log=False)
    check = subprocess.run(
        [serve.nginx_binary(), "-t", "-q", "-e", "stderr", "-p", str(tmp_path), "-c", str(written)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert oct(private.stat().st_mode & 0o777) == "0o700"
