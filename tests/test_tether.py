"""`make run`'s services die with it: a script killed outright (SIGKILL) leaves no orphan (govern/tether.py)."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a child of ours that ended is a zombie until reaped; a grandchild is reaped by init
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.1)
    return False


def test_a_tethered_service_runs_in_its_own_session_and_ends_when_its_script_is_killed():
    script = f"{sys.executable} -m govern.tether $$ sleep 300 & echo $!; wait"
    parent = subprocess.Popen(["bash", "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    service = int(parent.stdout.readline())
    try:
        time.sleep(1)  # the tether has exec'd sleep by now
        assert Path(f"/proc/{service}/cmdline").read_bytes().split(b"\0")[0] == b"sleep"
        assert os.getsid(service) == service != os.getsid(parent.pid)  # the terminal's Ctrl-C does not reach it
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert _gone(service, 5), "the service outlived the script that started it"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(service, signal.SIGKILL)


def test_a_tether_whose_parent_is_already_gone_does_not_start_the_service():
    result = subprocess.run(
        [sys.executable, "-m", "govern.tether", "1", "true"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
