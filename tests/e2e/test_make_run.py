"""`make run` serves the login page and the API docs, with a worker beside it; Ctrl-C stops both."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status, response.read().decode()
    except OSError:
        return 0, ""


def _children(pid: int) -> set[int]:
    """Every live descendant of a process."""
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == parent and fields[0] != "Z":
                    found.add(int(entry.name))
                    frontier.append(int(entry.name))
    return found


def test_make_run_serves_login_and_api_docs_and_ctrl_c_stops_everything(tmp_path):
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    for name in (
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "AUDIT_SIGNING_KEY_FILE",
        "IMAGE_ENCRYPTION_KEY_FILE",
        "RECEIPT_KEY_FILE",
        "CELERY_BROKER_URL",
    ):
        environment.pop(name, None)
    environment["PORT"] = str(port)
    log = (tmp_path / "run.log").open("w+")
    process = subprocess.Popen(["make", "run"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        status = 0
        while time.monotonic() < deadline and status != 200:
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            status, login = _get(f"http://127.0.0.1:{port}/accounts/login/")
            time.sleep(1)
        assert status == 200, (tmp_path / "run.log").read_text()
        assert 'name="password"' in login
        status, docs = _get(f"http://127.0.0.1:{port}/api/docs/")
        assert status == 200 and "swagger" in docs.lower()
        status, schema = _get(f"http://127.0.0.1:{port}/api/schema/")
        assert status == 200 and "openapi" in schema
        output = (tmp_path / "run.log").read_text()
        assert "Demo accounts ready" in output and "commander" in output
        assert "Celery worker" in output
        running = _children(process.pid)
        assert len(running) >= 3  # gunicorn master, its workers, the celery worker
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            process.wait(timeout=60)
        finally:
            leftover = [pid for pid in _children(process.pid) if Path(f"/proc/{pid}").exists()]
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    time.sleep(1)
    assert not [pid for pid in running if Path(f"/proc/{pid}").exists() and _is_alive(pid)], leftover
    assert _get(f"http://127.0.0.1:{port}/accounts/login/")[0] == 0


def _is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
