"""The agent stops within 5 s of `live: false` and drops its templates; it refuses to start when the session is
refused; `manage.py capture_agent` reads its credential from a file or the environment, never the command line."""

import io
import threading
import time

import pytest
from django.core.management import CommandError, call_command

from apps.matching.agent.client import GovernClient
from apps.matching.agent.queue import BatchQueue
from apps.matching.agent.runner import CaptureAgent, WallClock
from apps.matching.agent.scenes import Passer
from apps.matching.management.commands import capture_agent

from .conftest import CREDENTIAL, HEIGHT, ScriptedClock, video

pytestmark = pytest.mark.slow
START = 1_800_000_000.0


@pytest.fixture(scope="module")
def long_street(tmp_path_factory) -> str:
    """A minute of street at 10 frames a second: a person passing in the first 3 s, then nobody."""
    path = tmp_path_factory.mktemp("video") / "long.mp4"
    return video(path, [Passer("obama2", 0.0, 3.0, HEIGHT)], seconds=60, fps=10)


def _agent(govern, queue_dir, engine, clock=None) -> tuple[CaptureAgent, BatchQueue]:
    queue = BatchQueue(queue_dir, CREDENTIAL)
    return CaptureAgent(GovernClient(govern.url, CREDENTIAL, 12), engine, queue, clock=clock), queue


def test_on_the_videos_timeline_capture_stops_within_5_seconds_and_the_templates_are_dropped(
    govern, dlib_engine, long_street, tmp_path
):
    clock = ScriptedClock(START, [(5.0, lambda: govern.stop(at=clock.now()))])
    agent, queue = _agent(govern, tmp_path, dlib_engine, clock)
    outcome = agent.run(long_street, drain_seconds=5)
    queue.close()
    assert outcome.stopped_at is not None and outcome.stopped_at - govern.stopped_at <= 5.0
    assert outcome.frames < 100  # of the 600 the minute holds
    assert not agent.session.holds_templates and agent.session.entries == []
    assert outcome.reason == "Stopped: deployment 12 is stopped (emergency stop); its templates were dropped."
    assert (outcome.tracks, outcome.alerts, outcome.pending) == (1, 1, 0)  # what was captured while live is sent


def test_a_live_agent_stops_within_5_seconds_of_wall_time(govern, dlib_engine, long_street, tmp_path):
    """A real clock: the uplink polls on its own thread, while capture runs flat out."""
    agent, queue = _agent(govern, tmp_path, dlib_engine, WallClock())
    stop = threading.Timer(4.0, lambda: govern.stop(at=time.time()))
    stop.start()
    outcome = agent.run(long_street, drain_seconds=5)
    stopped_within = time.time() - govern.stopped_at
    stop.cancel()
    queue.close()
    assert outcome.stopped_at is not None and outcome.stopped_at - govern.stopped_at <= 5.0
    assert stopped_within <= 5.0 + 2.0  # and the run returned soon after (deciding, draining)
    assert not agent.session.holds_templates
    assert govern.statuses >= 1


def test_the_agent_refuses_to_start_when_the_session_is_refused(govern, dlib_engine, long_street, tmp_path):
    govern.live = False
    agent, queue = _agent(govern, tmp_path, dlib_engine)
    outcome = agent.run(long_street, drain_seconds=1)
    queue.close()
    assert outcome.reason == "Not started: Govern refused the session (403): The deployment is not live."
    assert outcome.frames == 0 and agent.session is None


def test_the_agent_refuses_a_session_for_another_engine(govern, dlib_engine, long_street, tmp_path):
    original = govern.session_body
    govern.session_body = lambda: {**original(), "engine": {**original()["engine"], "weights_sha256": "00" * 32}}
    agent, queue = _agent(govern, tmp_path, dlib_engine)
    outcome = agent.run(long_street, drain_seconds=1)
    queue.close()
    assert outcome.reason.startswith("Not started: The session is for engine dlib-resnet-v1/mtcnn (weights 0000")
    assert "refusing to start" in outcome.reason and outcome.frames == 0


def _command(govern, tmp_path, source, **extra):
    out = io.StringIO()
    call_command(
        "capture_agent", server=govern.url, deployment=12, source=source, queue_dir=tmp_path / "queue",
        drain_seconds=2, stdout=out, **extra,
    )  # fmt: skip
    return out.getvalue()


def test_the_command_runs_with_the_credential_from_a_file(govern, dlib_engine, long_street, tmp_path, monkeypatch):
    monkeypatch.setattr(capture_agent, "get_engine", lambda: dlib_engine)
    monkeypatch.delenv(capture_agent.CREDENTIAL_ENV, raising=False)
    secret = tmp_path / "credential"
    secret.write_text(CREDENTIAL + "\n")
    threading.Timer(3.0, lambda: govern.stop(at=time.time())).start()
    printed = _command(govern, tmp_path, long_street, credential_file=str(secret))
    assert printed.startswith("Stopped: deployment 12 is stopped (emergency stop); its templates were dropped.")
    assert "1 alerts, 0 receipts" in printed and "0 waiting in the queue" in printed


def test_the_command_refuses_without_a_credential_or_a_session(govern, dlib_engine, long_street, tmp_path, monkeypatch):
    monkeypatch.setattr(capture_agent, "get_engine", lambda: dlib_engine)
    monkeypatch.delenv(capture_agent.CREDENTIAL_ENV, raising=False)
    with pytest.raises(CommandError, match="No camera credential"):
        _command(govern, tmp_path, long_street)
    monkeypatch.setenv(capture_agent.CREDENTIAL_ENV, CREDENTIAL)
    govern.live = False
    with pytest.raises(CommandError, match=r"Not started: Govern refused the session \(403\)"):
        _command(govern, tmp_path, long_street)
    monkeypatch.setenv(capture_agent.CREDENTIAL_ENV, "kid123.wrong")
    with pytest.raises(CommandError, match=r"\(401\): Invalid camera credential"):
        _command(govern, tmp_path, long_street)


def test_a_new_generation_fetches_the_session_again_and_a_purged_entry_is_not_alerted_on(govern, dlib_engine, tmp_path):
    path = video(tmp_path / "one.mp4", [Passer("obama2", 0.0, 3.0, HEIGHT)], seconds=3.6)

    def purge():  # entry 5's templates deleted (a person's deletion): the list's generation moves
        govern.templates, govern.generation = {}, 2

    agent, queue = _agent(govern, tmp_path / "queue", dlib_engine, ScriptedClock(START, [(0.5, purge)]))
    outcome = agent.run(path, drain_seconds=5)
    queue.close()
    assert agent.session.generation == 2 and agent.session.enrolled == frozenset()
    assert (outcome.tracks, outcome.alerts, outcome.receipts) == (1, 0, 1)
    (receipt,) = govern.tracks
    assert receipt["decision"] == "receipt" and "crop" not in receipt
