"""One decision per person passing: a face crossing for N frames is one track, one alert or one receipt, not N."""

import base64
import hashlib
import hmac
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.matching.agent.client import GovernClient
from apps.matching.agent.queue import BatchQueue
from apps.matching.agent.runner import CaptureAgent, VideoClock
from apps.matching.agent.scenes import Passer
from apps.matching.agent.templates import Match
from apps.matching.agent.tracking import PeoplePassing
from apps.matching.engine import Face

from .conftest import CREDENTIAL, HEIGHT, video

pytestmark = pytest.mark.slow


def _face(left: float, seed: int) -> Face:
    chip = np.random.default_rng(seed).integers(0, 255, (150, 150, 3), dtype=np.uint8)
    return Face((left, 40.0, left + 50.0, 100.0), 0.999, chip)


def test_a_face_crossing_for_n_frames_is_one_track_with_n_faces():
    passing, ended = PeoplePassing(rate=10), []
    for frame in range(30):
        ended += passing.see(frame, 1000 + frame / 10, [_face(10 + 8 * frame, frame)], [Match(((5, 0.5),))])
    for frame in range(30, 45):  # the street empty: the track ends after a second unseen
        ended += passing.see(frame, 1000 + frame / 10, [], [])
    assert len(ended) == 1
    (track,) = ended
    assert (track.faces, track.last_frame - track.first_frame + 1) == (30, 30)
    assert passing.open_tracks == 0


def test_two_people_are_two_tracks_and_a_face_seen_once_is_a_track_of_its_own():
    passing, ended = PeoplePassing(rate=10), []
    for frame in range(20):
        faces = [_face(10 + 5 * frame, frame), _face(250 - 5 * frame, 100 + frame)]
        if frame == 10:
            faces.append(Face((150.0, 150.0, 200.0, 210.0), 0.99, np.zeros((150, 150, 3), np.uint8)))
        ended += passing.see(frame, 1000 + frame / 10, faces, [Match(((5, 0.5),))] * len(faces))
    ended += passing.end_all()
    assert sorted(track.faces for track in ended) == [1, 20, 20]


def test_the_commitment_is_an_hmac_over_every_crops_sha256_in_order():
    passing = PeoplePassing(rate=10)
    faces = [_face(10 + 8 * frame, frame) for frame in range(5)]
    for frame, face in enumerate(faces):
        passing.see(frame, 1000 + frame / 10, [face], [Match(((5, 0.2),))])
    (track,) = passing.end_all()
    key = track._mac.copy()  # the test peeks at the key's state before the decision forgets it
    decision = track.decide(threshold=0.9)
    assert decision["decision"] == "receipt" and "crop" not in decision and "candidates" not in decision
    assert re.fullmatch(r"[0-9a-f]{64}", decision["commitment"])
    assert track._mac is None and track.best_face is None  # the key and the best face are forgotten
    fresh = hmac.new(b"another key", digestmod="sha256")
    for face in faces:
        fresh.update(hashlib.sha256(face.crop.tobytes()).digest())
    assert decision["commitment"] != fresh.hexdigest()  # a random key: nobody can test a face against it later
    assert key.hexdigest() == decision["commitment"]


def test_a_track_cut_at_a_stop_keeps_the_faces_seen_before_it_and_its_best_among_them():
    """The deployment stopped at 1000.25: the faces after it are forgotten, the commitment covers the ones before,
    the best is the best before it; a track first seen after it is forgotten undecided."""
    passing = PeoplePassing(rate=10)
    faces = [_face(10 + 8 * frame, frame) for frame in range(6)]
    for frame, face in enumerate(faces):  # scores rise: the best face is the last, seen after the stop
        passing.see(frame, 1000 + frame / 10, [face], [Match(((5, 0.5 + frame / 10),))])
    (track,) = passing.end_all(until=1000.25)
    key = hmac.new(track._key, digestmod="sha256")
    decision = track.decide(threshold=0.9)
    assert (decision["faces"], decision["frames"], decision["best_score"]) == (3, 3, 0.7)
    assert decision["last_seen"].startswith("1970-01-01T00:16:40.200")
    for face in faces[:3]:
        key.update(hashlib.sha256(face.crop.tobytes()).digest())
    assert decision["commitment"] == key.hexdigest()
    late = PeoplePassing(rate=10)
    late.see(0, 1000.5, [_face(10, 1)], [Match(((5, 0.95),))])
    assert late.end_all(until=1000.25) == []


def test_a_track_embedded_only_at_its_best_faces_is_cut_by_when_each_was_seen():
    """A track embeds its best face once every few frames: at a stop, its best is the best embedded face seen before
    the stop (not one embedded later from a face seen after it), and a track none of whose faces before the stop was
    embedded leaves a receipt."""
    from apps.matching.agent.tracking import Track

    track = Track(0, 1000.0)
    early, late = _face(10, 0), _face(50, 5)
    track.add(0, 1000.0, early, Match(((5, 0.6),)))
    track.add(5, 1000.5, late)  # waits to be embedded, seen after the stop
    assert track.due(5, every=1) is late
    track.matched(late, Match(((5, 0.95),)))
    assert track.cut(1000.25)
    assert (track.faces, track.best_score, track.best_face) == (1, 0.6, early)
    waiting = Track(0, 1000.0)
    waiting.add(0, 1000.0, _face(10, 0))  # never embedded before the stop
    waiting.add(3, 1000.3, _face(20, 3))
    assert waiting.cut(1000.1)
    assert waiting.decide(threshold=0.5)["decision"] == "receipt"


def _run(govern, path, queue_dir, engine, rate=10):
    client = GovernClient(govern.url, CREDENTIAL, 12)
    queue = BatchQueue(queue_dir, CREDENTIAL)
    agent = CaptureAgent(client, engine, queue, rate=rate, clock=VideoClock(1_800_000_000.0))
    try:
        return agent, agent.run(path, drain_seconds=5)
    finally:
        queue.close()
        client.close()


def test_a_wanted_person_and_a_passer_by_crossing_leave_one_alert_and_one_receipt(govern, dlib_engine, tmp_path: Path):
    # Walking pace: at 10 frames a second each face moves a fifth to a quarter of its width between two samples.
    people = [Passer("obama2", 0.0, 3.0, HEIGHT), Passer("biden", 0.0, 3.0, 240, leftward=True)]
    agent, outcome = _run(govern, video(tmp_path / "two.mp4", people, seconds=3.6), tmp_path / "queue", dlib_engine)
    assert outcome.frames == 36 and outcome.faces >= 40  # each seen in most of the 30 frames they cross in
    assert (outcome.tracks, outcome.alerts, outcome.receipts) == (2, 1, 1), govern.tracks
    assert (outcome.pending, outcome.batches_sent) == (0, len(govern.batches))
    alert = next(track for track in govern.tracks if track["decision"] == "alert")
    receipt = next(track for track in govern.tracks if track["decision"] == "receipt")
    assert alert["entry"] == 5 and alert["best_score"] >= 0.9 and alert["candidates"][0]["entry"] == 5
    assert Image.open(io.BytesIO(base64.b64decode(alert["crop"]))).format == "JPEG"
    assert alert["frames"] >= alert["faces"] >= 10
    assert receipt["best_score"] < 0.9 and set(receipt) == {
        "track", "first_seen", "last_seen", "frames", "faces", "best_score", "decision", "commitment"
    }  # fmt: skip
    assert sum(track["faces"] for track in govern.tracks) == outcome.faces  # every face in exactly one decision
    assert not agent.session.holds_templates
