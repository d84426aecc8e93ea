"""`make run` serves the login page and the API docs, with a worker beside it, saying what a newcomer needs and little
else; Ctrl-C stops everything cleanly."""

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
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback only; the schema takes seconds)
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


def _as_from_a_terminal() -> None:
    """Ctrl-C and a hang-up as a terminal delivers them: a test run started in the background of a non-interactive
    shell (`cmd &`, `nohup`) inherits SIGINT, SIGQUIT and SIGHUP ignored, and bash can trap no signal ignored on entry,
    so make run would be tested deaf to the Ctrl-C a newcomer's terminal sends."""
    for number in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)


def _newcomer_environment() -> dict[str, str]:
    """The environment a newcomer runs `make run` in: none of what the test settings set for this process."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    for name in (
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "AUDIT_SIGNING_KEY_FILE",
        "IMAGE_ENCRYPTION_KEY_FILE",
        "RECEIPT_KEY_FILE",
        "CELERY_BROKER_URL",
        "FACE_ENGINE",  # the test settings pin facenet; `make run` runs what the settings choose: dlib
        "FACE_ALLOW_UNCALIBRATED",
    ):
        environment.pop(name, None)
    return environment


def test_make_run_serves_login_and_api_docs_and_ctrl_c_stops_everything(tmp_path):
    port = _free_port()
    environment = _newcomer_environment()
    environment["PORT"] = str(port)
    log = (tmp_path / "run.log").open("w+")
    process = subprocess.Popen(["make", "run"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True, preexec_fn=_as_from_a_terminal)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        status = 0
        while time.monotonic() < deadline and status != 200:
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            status, login = _get(f"http://127.0.0.1:{port}/accounts/login/")
            time.sleep(1)
        assert status == 200, (tmp_path / "run.log").read_text()
        assert 'name="password"' in login
        # What a newcomer has read by the time the sign-in page answers (drf-spectacular's schema warnings, printed
        # when the API docs are first opened below, are the API's to fix).
        output = (tmp_path / "run.log").read_text()
        status, docs = _get(f"http://127.0.0.1:{port}/api/docs/")
        assert status == 200 and "swagger" in docs.lower()
        status, schema = _get(f"http://127.0.0.1:{port}/api/schema/")
        assert status == 200 and "openapi" in schema
        assert "Demo accounts ready" in output and "commander" in output
        assert "Celery worker" in output
        # The demo runs dlib's engine (the database may be one seeded before, so what it films is not asserted here:
        # tests/matching/test_demo_real_faces.py holds that).
        assert "Face engine: as the settings choose (dlib without FACE_WEIGHTS), threshold 0.900." in output
        # Little else: no migration list, no Celery banner or task lines, no INFO logs, no pip or Python noise.
        for noise in ("Applying ", "[tasks]", "celery@", "INFO", "Traceback", "ERROR", "Warning", "checkpoint: size"):
            assert noise not in output, (noise, output)
        before_serving = output.split("Govern: http://", 1)[0]
        assert len(before_serving.splitlines()) <= 30, before_serving
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
    # Ended cleanly: scripts/run.sh said so and exited 0, so make printed no error; make itself ends by the signal, as
    # GNU make always does on an interrupt (a shell shows status 130). Nothing stopped with a traceback.
    after = (tmp_path / "run.log").read_text()
    assert after.rstrip().endswith("Govern stopped."), after[-2000:]
    assert "make: ***" not in after and "Traceback" not in after and "KeyboardInterrupt" not in after, after[-2000:]
    assert process.returncode in (0, -signal.SIGINT)


def test_ctrl_c_while_the_demo_is_being_prepared_stops_it_cleanly_too(tmp_path):
    """Ctrl-C before the server is up (migrating, seeding) stops the step in hand at once, without a traceback."""
    environment = _newcomer_environment()  # with the test settings' DEBUG=false the seed refuses before Ctrl-C
    environment.update({"PORT": str(_free_port()), "DEMO_CAMERA": "false"})
    log = (tmp_path / "run.log").open("w+")
    process = subprocess.Popen(["scripts/run.sh"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True, preexec_fn=_as_from_a_terminal)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "Preparing the database" not in (tmp_path / "run.log").read_text() and time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            time.sleep(0.2)
        time.sleep(2)  # inside a step: migrate or seed_demo
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=60) == 0, (tmp_path / "run.log").read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    output = (tmp_path / "run.log").read_text()
    assert output.rstrip().endswith("Govern stopped.") and "Traceback" not in output, output


def test_setup_installs_quietly_and_explains_facenet_pytorch_in_one_line():
    """make's setup sends pip's output to a log and leaves pip's conflict report about facenet-pytorch's pins out (every
    install carries --no-warn-conflicts), saying why in one line instead. Read from make's dry run of the recipe."""
    recipe = subprocess.run(
        ["make", "-n", "-B", "VENV=/nonexistent-venv", "/nonexistent-venv/.govern-installed"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    installs = [line for line in recipe.splitlines() if "/pip install" in line]
    assert len(installs) == 4
    for line in installs:
        assert "--no-warn-conflicts" in line and ">>var/pip-install.log 2>&1 ||" in line, line
    assert "facenet-pytorch 2.6.0 is installed without its dependencies" in recipe


def test_the_package_builds_without_setuptools_deprecation_warnings(tmp_path):
    """pyproject.toml's metadata is current: the licence an SPDX expression (PEP 639), nothing setuptools deprecates."""
    pip = [str(ROOT / ".venv/bin/pip"), "wheel", "--no-deps", "--disable-pip-version-check"]
    built = subprocess.run([*pip, "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    assert "deprecated" not in built.stdout + built.stderr, built.stdout + built.stderr


def _is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
