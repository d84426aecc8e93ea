"""A link that drops loses nothing: batches resent under their idempotency key, a 60 s outage mid-stream, a restart,
and a refusal kept aside rather than retried forever. The link is a real socket: cut, it refuses connections."""

import uuid
from datetime import datetime
from pathlib import Path

import pytest

from apps.matching.agent.client import GovernClient
from apps.matching.agent.queue import BatchQueue
from apps.matching.agent.runner import CaptureAgent, Outcome, Uplink, VideoClock
from apps.matching.agent.scenes import Passer
from apps.matching.agent.tracking import iso

from .conftest import CREDENTIAL, HEIGHT, ScriptedClock, video

pytestmark = pytest.mark.slow
START = 1_800_000_000.0


def _agent(govern, queue_dir: Path, engine, clock, rate: float = 10) -> tuple[CaptureAgent, BatchQueue]:
    queue = BatchQueue(queue_dir, CREDENTIAL)
    return CaptureAgent(GovernClient(govern.url, CREDENTIAL, 12), engine, queue, rate=rate, clock=clock), queue


@pytest.fixture(scope="module")
def one_person(tmp_path_factory) -> str:
    """The wanted person crossing the street in 3 s."""
    path = tmp_path_factory.mktemp("video") / "one.mp4"
    return video(path, [Passer("obama2", 0.0, 3.0, HEIGHT)], seconds=3.6)


@pytest.fixture(scope="module")
def empty_street(tmp_path_factory) -> str:
    return video(tmp_path_factory.mktemp("video") / "empty.mp4", [], seconds=1.0)


def test_a_batch_whose_answer_was_lost_is_resent_under_the_same_key_and_recorded_once(
    govern, dlib_engine, one_person, tmp_path
):
    govern.lose_answers = 1  # Govern records the batch, the answer never arrives
    agent, queue = _agent(govern, tmp_path, dlib_engine, VideoClock(START))
    outcome = agent.run(one_person, drain_seconds=10)
    queue.close()
    assert (outcome.tracks, outcome.alerts, outcome.pending) == (1, 1, 0)
    assert govern.posts == [govern.posts[0]] * 2  # sent twice, under one idempotency key
    assert len(govern.batches) == 1 and len(govern.tracks) == 1  # recorded once


def test_a_60_second_outage_mid_stream_loses_nothing(govern, dlib_engine, tmp_path):
    """80 s of street, five people passing; the link refuses connections from 10 s to 70 s of the video."""
    people = [
        Passer("obama2", 2.0, 12.0, HEIGHT),
        Passer("biden", 16.0, 16.0, 240, leftward=True),
        Passer("obama2", 34.0, 12.0, HEIGHT),
        Passer("biden", 48.0, 16.0, 240),
        Passer("obama2", 66.0, 12.0, HEIGHT, leftward=True),
    ]
    path = video(tmp_path / "street.mp4", people, seconds=80, fps=1)
    clock = ScriptedClock(START, [(10.0, govern.cut), (70.0, govern.restore)])
    agent, queue = _agent(govern, tmp_path / "queue", dlib_engine, clock, rate=1)
    outcome = agent.run(path, drain_seconds=10)
    queue.close()
    assert (outcome.tracks, outcome.alerts, outcome.receipts) == (5, 3, 2), govern.tracks
    assert (outcome.pending, outcome.refused) == (0, 0)
    # The ledger balances: every track and every face the agent saw is recorded once.
    assert len(govern.tracks) == outcome.tracks and len({track["track"] for track in govern.tracks}) == 5
    assert sum(track["faces"] for track in govern.tracks) == outcome.faces
    # Alerts keep their captured-at times: the one seen during the outage says when it was seen, not sent.
    seen = sorted(datetime.fromisoformat(t["first_seen"]).timestamp() - START for t in govern.tracks)
    assert seen == pytest.approx([2, 16, 34, 48, 66], abs=1.5)
    assert len(govern.posts) == len(set(govern.posts))  # nothing reached Govern twice: the link refused them


def test_the_queue_survives_a_restart(govern, dlib_engine, one_person, empty_street, tmp_path):
    clock = ScriptedClock(START, [(0.0, govern.cut)])  # the link drops right after the session is granted
    agent, queue = _agent(govern, tmp_path, dlib_engine, clock)
    first = agent.run(one_person, drain_seconds=0.5)
    queue.close()
    assert (first.tracks, first.pending) == (1, 1) and govern.tracks == []
    govern.restore()
    agent, queue = _agent(govern, tmp_path, dlib_engine, VideoClock(START + 3600))
    second = agent.run(empty_street, drain_seconds=5)
    queue.close()
    assert (second.tracks, second.batches_sent, second.pending) == (0, 1, 0)
    (alert,) = govern.tracks
    assert alert["decision"] == "alert" and datetime.fromisoformat(alert["first_seen"]).timestamp() < START + 4


def test_a_refusal_for_a_reason_is_kept_aside_not_retried(govern, dlib_engine, one_person, tmp_path):
    govern.refuse_with = 403
    agent, queue = _agent(govern, tmp_path, dlib_engine, VideoClock(START))
    outcome = agent.run(one_person, drain_seconds=2)
    assert (outcome.tracks, outcome.refused, outcome.pending) == (1, 1, 0)
    assert len(govern.posts) == 1 and govern.tracks == []
    assert queue.refused()[0][1] == "403: refused for the test"
    queue.close()


def _track(seen: float) -> dict:
    return {
        "track": str(uuid.uuid4()), "first_seen": iso(seen - 2), "last_seen": iso(seen), "frames": 20, "faces": 20,
        "best_score": 0.5, "decision": "receipt", "commitment": "ab" * 32,
    }  # fmt: skip


def test_a_batch_refused_for_one_named_track_is_split_and_the_others_recorded(govern, dlib_engine, tmp_path):
    """Govern refuses the batch naming the track seen after the stop: that one is kept aside under the batch's id,
    the others go at once as a new batch, recorded once."""
    agent, queue = _agent(govern, tmp_path, dlib_engine, VideoClock(START))
    tracks = [_track(START + 1), _track(START + 8), _track(START + 3)]
    first = queue.put(tracks, START + 9)
    govern.stop(at=START + 5)
    outcome = Outcome()
    assert Uplink(agent, outcome).send(START + 9)
    assert [track["track"] for track in govern.tracks] == [tracks[0]["track"], tracks[2]["track"]]
    assert len(govern.posts) == 2 and govern.posts[0] == first and outcome.batches_sent == 1
    [(kept, reason)] = queue.refused()
    assert kept == first and reason.startswith(f"403: Track(s) {tracks[1]['track']} were captured after")
    assert [track["track"] for track in queue._open(*queue._sql("SELECT id, sealed FROM batch")[0])["tracks"]] == [
        tracks[1]["track"]
    ]
    assert queue.pending() == 0
    queue.close()
