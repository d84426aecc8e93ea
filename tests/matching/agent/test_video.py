"""Video in: PyAV samples a file at the configured rate, by the frames' timestamps."""

import itertools

import pytest

from apps.matching.agent import scenes
from apps.matching.agent.video import VideoUnreadable, sampled_frames


@pytest.fixture(scope="module")
def street_video(tmp_path_factory):
    """Two seconds of an empty street at 25 frames a second."""
    path = tmp_path_factory.mktemp("video") / "street.mp4"
    return str(scenes.write_video(path, [], seconds=2, fps=25, size=(160, 120)))


def test_a_25_frames_a_second_video_is_sampled_at_10_a_second(street_video):
    samples = list(sampled_frames(street_video, 10))
    assert len(samples) == 20
    assert [sample.number for sample in samples] == list(range(20))
    gaps = [later.time - earlier.time for earlier, later in itertools.pairwise(samples)]
    assert all(0.07 < gap < 0.13 for gap in gaps)  # 0.08 or 0.12: frames fall every 0.04 s
    assert samples[-1].time == pytest.approx(1.96, abs=0.05)
    assert samples[0].image.size == (160, 120)


def test_the_rate_is_configurable(street_video):
    assert len(list(sampled_frames(street_video, 5))) == 10
    assert len(list(sampled_frames(street_video, 1))) == 2


def test_a_rate_above_the_videos_takes_every_frame(street_video):
    assert len(list(sampled_frames(street_video, 50))) == 50


def test_an_unreadable_source_is_a_clear_error(tmp_path):
    with pytest.raises(VideoUnreadable, match="Cannot open"):
        list(sampled_frames(str(tmp_path / "missing.mp4"), 10))
    with pytest.raises(ValueError, match="above 0"):
        list(sampled_frames(str(tmp_path / "missing.mp4"), 0))
