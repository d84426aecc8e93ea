"""The capture agent's fixtures: dlib's engine, test videos made from the vendored photographs, and a small in-test
HTTP server that implements the agent API's contract (/api/matching/agent/: session, status, batches), with a link
that can be cut and restored (fake_govern.py)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.matching.agent import scenes
from apps.matching.agent.runner import VideoClock

from .fake_govern import CREDENTIAL, FakeGovern

__all__ = ["CREDENTIAL", "FakeGovern"]
SIZE = (320, 240)
HEIGHT = 180  # the photographs' height in SIZE: faces of about 40 px


@pytest.fixture(scope="session")
def dlib_engine():
    from apps.matching.engine import DlibEngine

    return DlibEngine()


@pytest.fixture(scope="session")
def template(dlib_engine) -> np.ndarray:
    """The enrolled template: dlib's vector of the portrait obama.jpg (the video shows another photograph)."""
    _, vectors = dlib_engine.detect_and_embed(Image.open(scenes.PHOTOGRAPHS / "obama.jpg").convert("RGB"))
    return vectors[0]


def video(path: Path, passers, *, seconds: float, fps: int = 25) -> str:
    """A small test video of these passers (apps/matching/agent/scenes.py)."""
    return str(scenes.write_video(path, passers, seconds=seconds, fps=fps, size=SIZE))


@pytest.fixture
def govern(dlib_engine, template):
    server = FakeGovern(dlib_engine, {5: template})
    yield server
    server.close()


class ScriptedClock(VideoClock):
    """The video's timeline, with things that happen at given video seconds (the link cut, a stop)."""

    def __init__(self, start: float, script: list[tuple[float, object]]):
        super().__init__(start)
        self.script = sorted(script, key=lambda step: step[0])

    def at_frame(self, sample) -> None:
        super().at_frame(sample)
        while self.script and self.script[0][0] <= sample.time:
            self.script.pop(0)[1]()
