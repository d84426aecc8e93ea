"""The two face engines side by side, the models alone: faces per second on 640x480 frames of one face and of four.

Each engine (apps/matching/engine.py) runs in this one process with one thread (FACE_THREADS=1, as a worker runs it),
on the same frames, one after the other, in the same run: facenet-pytorch (InceptionResnetV1, here with random
weights: the arithmetic is the same as with real ones) and dlib (MTCNN's boxes, dlib's 5-point alignment and ResNet
descriptor). A frame is detected (`detect`) and its faces embedded (`embed`), as the live pipeline does, without the
platform around them (benchmarks/live_bench.py measures that). It also times the detectors the dlib engine could use
on the one-face frame: MTCNN at FACE_MIN_SIZE 40 against dlib's HOG detector with and without one upsampling (HOG
finds faces under about 80 px only with it). The ratio column is each engine's faces/s over facenet's.

    .venv/bin/python benchmarks/engine_bench.py [--frames 20] [--smoke]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.audit_bench import SMOKE_HELP, machine  # noqa: E402
from benchmarks.live_bench import frame_jpeg  # noqa: E402

SIZE = (640, 480)


def configure() -> None:
    from django.conf import settings

    settings.configure(
        FACE_ENGINE="dlib",
        FACE_WEIGHTS=None,
        FACE_ALLOW_DOWNLOAD=False,
        FACE_SEED=0,
        FACE_THREADS=1,
        FACE_BATCH_SIZE=32,
        FACE_BATCH_FRAMES=4,
        FACE_MIN_SIZE=40,
    )


def faces_per_second(engine, frame: bytes, count: int) -> tuple[float, int]:
    """Faces a second over `count` frames (after one untimed frame), and the faces a frame held."""
    from PIL import Image

    found = engine.detect(Image.open(io.BytesIO(frame)))
    engine.embed(found)
    started, faces = time.perf_counter(), 0
    for _ in range(count):
        detected = engine.detect(Image.open(io.BytesIO(frame)))
        engine.embed(detected)
        faces += len(detected)
    return faces / (time.perf_counter() - started), len(found)


def detectors(frame: bytes, count: int) -> list[tuple[str, float, int]]:
    """Milliseconds a frame and faces found, for MTCNN and for dlib's HOG detector (0 and 1 upsampling)."""
    import dlib
    import numpy as np
    import torch
    from PIL import Image

    from apps.matching.engine import _mtcnn, _mtcnn_boxes

    image = Image.open(io.BytesIO(frame)).convert("RGB")
    pixels = np.asarray(image)
    mtcnn, hog = _mtcnn(torch), dlib.get_frontal_face_detector()
    runs = {
        "MTCNN (FACE_MIN_SIZE 40)": lambda: _mtcnn_boxes(torch, mtcnn, image)[0],
        "dlib HOG, no upsampling": lambda: hog(pixels, 0),
        "dlib HOG, 1 upsampling": lambda: hog(pixels, 1),
    }
    rows = []
    for name, run in runs.items():
        found = run()
        started = time.perf_counter()
        for _ in range(count):
            run()
        rows.append((name, (time.perf_counter() - started) / count * 1000, 0 if found is None else len(found)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20, help="timed frames per engine and frame kind")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    if args.smoke:
        args.frames = 1
    configure()
    import torch

    torch.set_num_threads(1)
    from apps.matching.engine import DlibEngine, FacenetEngine

    print(f"machine: {machine()}; one thread; {args.frames} frames each", flush=True)
    frames = {faces: frame_jpeg(faces, SIZE) for faces in (1, 4)}
    engines = {"facenet (InceptionResnetV1, 512-d)": FacenetEngine(), "dlib (ResNet, 128-d)": DlibEngine()}
    print("\n| engine | frame | faces found | faces/s | / facenet |")
    print("| --- | --- | --- | --- | --- |")
    for faces, frame in frames.items():
        baseline = None
        for name, engine in engines.items():
            rate, found = faces_per_second(engine, frame, args.frames)
            baseline = baseline or rate
            print(f"| {name} | {faces} face{'s' if faces > 1 else ''}, 640x480 | {found} | {rate:.1f} | "
                  f"{rate / baseline:.2f} |", flush=True)  # fmt: skip
    print("\n| detector (one-face frame) | ms a frame | faces found |")
    print("| --- | --- | --- |")
    for name, milliseconds, found in detectors(frames[1], args.frames):
        print(f"| {name} | {milliseconds:.1f} | {found} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
