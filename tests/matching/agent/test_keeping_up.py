"""The agent keeps up with a live camera without losing faces a van must see: detection on a downscaled copy finds the
faces full-size detection finds, each track embeds only its best few faces, and the people passing are decided as
when every face was embedded."""

import base64
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.matching.agent import scenes
from apps.matching.agent.client import GovernClient
from apps.matching.agent.queue import BatchQueue
from apps.matching.agent.runner import MIN_FACE, STAGES, CaptureAgent, VideoClock
from apps.matching.agent.scenes import Passer
from apps.matching.agent.templates import Match
from apps.matching.agent.tracking import PeoplePassing
from apps.matching.engine import Face

from .conftest import CREDENTIAL, HEIGHT, video

pytestmark = pytest.mark.slow
HD = (1280, 720)


def _iou(one, other) -> float:
    left, top = max(one[0], other[0]), max(one[1], other[1])
    right, bottom = min(one[2], other[2]), min(one[3], other[3])
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = (one[2] - one[0]) * (one[3] - one[1]) + (other[2] - other[0]) * (other[3] - other[1]) - inter
    return inter / union


@pytest.fixture(scope="module")
def street_720p() -> Image.Image:
    """A 1280x720 frame of the benchmark's street with four people in it (faces of about 42 to 90 px)."""
    crowd = [Passer(name, enters, 6.0, 360, top=row * 120) for row, (name, enters) in
             enumerate([("obama2", 0.0), ("biden", 1.5), ("obama3", 3.0), ("biden", 4.5)])]  # fmt: skip
    return Image.fromarray(scenes.frame_at(5.0, HD, crowd, scenes.street(HD)))


def test_detection_on_a_640_wide_copy_finds_the_faces_full_size_detection_finds(dlib_engine, street_720p):
    full = dlib_engine.detect(street_720p)
    scaled = dlib_engine.detect_scaled(street_720p, 640, MIN_FACE)
    assert len(full) == len(scaled) == 4
    for face in full:  # each face found again, its box scaled back to the full frame's pixels
        assert max(_iou(face.box, other.box) for other in scaled) > 0.8
    assert min(face.size for face in scaled) < 50  # the smallest faces are kept
    # The crops are cut from the full frame: the same aligned chip, of the full frame's pixels, as full-size detection
    same = dlib_engine._faces(street_720p.convert("RGB"), np.asarray([f.box for f in scaled]), np.ones(len(scaled)))
    assert all(np.array_equal(a.crop, b.crop) for a, b in zip(scaled, same, strict=True))
    # The server's detector keeps its own minimum face size: the agent's is a copy sharing the networks
    assert dlib_engine.detector.min_face_size == 40
    smaller = dlib_engine._detector_for(20)
    assert smaller is not dlib_engine.detector and smaller.pnet is dlib_engine.detector.pnet


def _face(left: float, size: float, seed: int) -> Face:
    chip = np.random.default_rng(seed).integers(0, 255, (150, 150, 3), dtype=np.uint8)
    return Face((left, 40.0, left + size, 40.0 + size), 0.999, chip)


def test_a_track_embeds_its_best_face_of_each_ten_frames_and_its_last_best_when_it_ends():
    passing, ended, embedded = PeoplePassing(rate=10, embed_every=10), [], []
    for frame in range(25):  # the face grows on frames 3, 13 and 22: each window's best
        size = 60.0 if frame in (3, 13, 22) else 50.0
        ended = passing.see(frame, 1000 + frame / 10, [_face(10 + 6 * frame, size, frame)])
        due = passing.due(ended)
        embedded += [(frame, face.size) for _, face in due]
        for track, face in due:
            track.matched(face, Match(((5, 0.5 + face.size / 1000),)))
    assert embedded == [(9, 60.0), (19, 60.0)]  # two windows of 10 frames, each its largest face
    (track,) = passing.end_all()
    assert [face.size for _, face in passing.due([track])] == [60.0]  # the rest, at the track's end
    assert (track.faces, track.embedded) == (25, 3)


def test_every_face_is_embedded_with_embed_every_1_and_none_twice():
    passing, count = PeoplePassing(rate=10, embed_every=1), 0
    for frame in range(12):
        ended = passing.see(frame, 1000 + frame / 10, [_face(10 + 6 * frame, 50.0, frame)])
        count += len(passing.due(ended))
    assert count == 12 and passing.due(passing.end_all()) == []
    with pytest.raises(ValueError, match="embed_every"):
        PeoplePassing(rate=10, embed_every=0)


def test_an_alert_carries_the_crop_of_the_best_scoring_embedded_face():
    passing = PeoplePassing(rate=10, embed_every=5)
    faces = [_face(10 + 6 * frame, 50.0 + frame, frame) for frame in range(10)]
    for frame, face in enumerate(faces):
        for track, due in passing.due(passing.see(frame, 1000 + frame / 10, [face])):
            # the earlier face scores higher: the alert must carry it, not the last or the largest
            track.matched(due, Match(((5, 0.97 if due is faces[4] else 0.92),)))
    (track,) = passing.end_all()
    decision = track.decide(threshold=0.9)
    assert decision["decision"] == "alert" and decision["best_score"] == 0.97
    assert base64.b64decode(decision["crop"]) == faces[4].crop_jpeg()


def _run(govern, path, queue_dir, engine, **options):
    client = GovernClient(govern.url, CREDENTIAL, 12)
    queue = BatchQueue(queue_dir, CREDENTIAL)
    agent = CaptureAgent(client, engine, queue, rate=10, clock=VideoClock(1_800_000_000.0), **options)
    try:
        return agent.run(path, drain_seconds=5)
    finally:
        queue.close()
        client.close()


def test_people_passing_are_decided_alike_when_only_a_tracks_best_faces_are_embedded(
    govern, dlib_engine, tmp_path: Path
):
    people = [Passer("obama2", 0.0, 3.0, HEIGHT), Passer("biden", 0.0, 3.0, 240, leftward=True)]
    path = video(tmp_path / "two.mp4", people, seconds=3.6)
    every = _run(govern, path, tmp_path / "every", dlib_engine, embed_every=1, detectors=1)
    every_tracks, govern.tracks = list(govern.tracks), []
    best = _run(govern, path, tmp_path / "best", dlib_engine)  # the defaults: 10 frames, two detection threads
    assert (best.frames, best.faces, best.tracks, best.alerts, best.receipts) == (
        every.frames, every.faces, every.tracks, every.alerts, every.receipts
    ) == (36, every.faces, 2, 1, 1)  # fmt: skip
    assert every.embedded == every.faces and best.embedded <= 8  # 2 tracks of 3 s: each 3 windows and its end
    alerted = {track["decision"]: track for track in govern.tracks}
    before = {track["decision"]: track for track in every_tracks}
    assert alerted["alert"]["entry"] == before["alert"]["entry"] == 5
    assert alerted["alert"]["best_score"] >= 0.9 and alerted["alert"]["best_score"] > before["receipt"]["best_score"]
    assert alerted["alert"]["faces"] == before["alert"]["faces"]  # the same faces committed to, in each decision
    assert all(best.cpu[stage] > 0 for stage in STAGES)  # each stage's CPU is measured


@pytest.mark.parametrize(
    "option", ["--embed-every=0", "--detectors=0", "--min-face=5", "--detect-width=100", "--detectors=two"]
)
def test_the_command_refuses_settings_out_of_range_before_it_starts(option, tmp_path: Path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=option.split("=")[0]):
        call_command(
            "capture_agent", "--server=http://127.0.0.1:9", "--deployment=12", "--source=x.mp4",
            f"--queue-dir={tmp_path}", option,
        )  # fmt: skip
    assert not any(tmp_path.iterdir())  # nothing started: no queue made
