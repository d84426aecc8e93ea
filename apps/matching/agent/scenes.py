"""Test videos: the vendored public photographs (apps/matching/demo_faces/SOURCES.md) moving across a street scene,
encoded with PyAV (H.264). The tests make small ones; benchmarks/agent_bench.py makes a 1280x720 one.

Each passer is a photograph, scaled so that its face is about a third of its height, entering at one edge at a given
time and crossing to the other at a steady pace; the street is the demo camera's (a grey gradient with shop fronts).
"""

import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

PHOTOGRAPHS = Path(__file__).resolve().parents[1] / "demo_faces"
WANTED = "obama2"  # another photograph of the person whose portrait (obama.jpg) the tests enrol
PASSERS_BY = ("biden",)


@dataclass(frozen=True)
class Passer:
    """One person crossing the street: which photograph, when they enter and for how long (seconds), how tall the
    photograph stands (pixels), and from which side (left to right unless `leftward`)."""

    photograph: str
    enters: float
    seconds: float
    height: int
    leftward: bool = False
    top: int = 0

    def left(self, at: float, scene_width: int, width: int) -> int | None:
        """The photograph's left edge at time `at`, or None when the passer is not in the street."""
        if not self.enters <= at < self.enters + self.seconds:
            return None
        progress = (at - self.enters) / self.seconds
        if self.leftward:
            progress = 1 - progress
        return round(progress * (scene_width - width))


@cache
def photograph(name: str, height: int) -> Image.Image:
    """A vendored photograph `height` pixels tall."""
    image = Image.open(PHOTOGRAPHS / f"{name}.jpg").convert("RGB")
    return image.resize((image.width * height // image.height, height), Image.Resampling.BILINEAR)


def street(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """An empty street: a grey gradient with shop fronts, as the demo camera's."""
    chance = random.Random(seed)
    width, height = size
    scene = Image.new("RGB", size)
    draw = ImageDraw.Draw(scene)
    for y in range(height):
        grey = 90 + y * 80 // height
        draw.line([(0, y), (width, y)], fill=(grey, grey, grey + 10))
    for _ in range(5):
        left = chance.randrange(0, width - width // 8)
        colour = tuple(chance.randrange(60, 200) for _ in range(3))
        draw.rectangle([left, 0, left + chance.randrange(width // 16, width // 4), height // 3], fill=colour)
    return scene


def frame_at(at: float, size: tuple[int, int], passers: list[Passer], background: Image.Image) -> np.ndarray:
    """The street at time `at`, with every passer then in it, as RGB pixels."""
    scene = background.copy()
    for passer in passers:
        picture = photograph(passer.photograph, passer.height)
        left = passer.left(at, size[0], picture.width)
        if left is not None:
            scene.paste(picture, (left, passer.top))
    return np.asarray(scene)


def write_video(path: Path, passers: list[Passer], *, seconds: float, fps: int, size: tuple[int, int]) -> Path:
    """Encode the scene as an H.264 MP4 at `fps` frames a second for `seconds`."""
    background = street(size)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        for number in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(frame_at(number / fps, size, passers, background), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
