"""Frames of a video file or an RTSP/HTTP stream, decoded with PyAV (FFmpeg) and sampled at a configured rate."""

import math
from collections.abc import Iterator
from dataclasses import dataclass

import av
from PIL import Image

DEFAULT_RATE = 10.0  # frames a second the agent looks at (a 25 frames/s camera: 2 of every 5)
# Seconds PyAV waits to open a stream and then for each read: a stalled stream cannot hold the loop (and so the
# status poll that stops it) for longer.
STREAM_TIMEOUT = (10.0, 4.0)


class VideoUnreadable(RuntimeError):
    """The source cannot be opened or decoded (a missing file, a refused stream, no video track)."""


@dataclass(frozen=True)
class Sample:
    """One sampled frame: its number among the samples, its time in the video (seconds from the first frame), and
    its pixels."""

    number: int
    time: float
    image: Image.Image


def _options(source: str) -> dict:
    # TCP rather than RTSP's default UDP: a mobile link drops UDP packets, and lost packets are smeared frames.
    return {"rtsp_transport": "tcp"} if source.lower().startswith("rtsp") else {}


def sampled_frames(source: str, rate: float = DEFAULT_RATE) -> Iterator[Sample]:
    """The source's frames at most `rate` a second, by their timestamps: the first frame in each 1/rate-second slot
    (a 25 frames/s video at 10/s gives exactly 10 a second; a 5 frames/s one gives all 5). Every frame is decoded
    (a compressed video's frames depend on each other), only the sampled ones are turned into images."""
    if not rate > 0:
        raise ValueError("The sampling rate must be above 0 frames a second.")
    try:
        container = av.open(source, options=_options(source), timeout=STREAM_TIMEOUT)
    except (av.FFmpegError, OSError) as exc:
        raise VideoUnreadable(f"Cannot open {source}: {exc}") from exc
    with container:
        if not container.streams.video:
            raise VideoUnreadable(f"{source} has no video track.")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start, last_slot, number = None, -1, 0
        try:
            for frame in container.decode(stream):
                if frame.time is None:  # a frame without a timestamp cannot be placed on the timeline
                    continue
                start = frame.time if start is None else start
                elapsed = frame.time - start
                slot = math.floor(elapsed * rate + 1e-6)
                if slot <= last_slot:
                    continue
                last_slot = slot
                yield Sample(number, elapsed, frame.to_image())
                number += 1
        except av.FFmpegError as exc:
            raise VideoUnreadable(f"Reading {source} failed: {exc}") from exc
