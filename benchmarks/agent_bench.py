"""The capture agent against the models alone, on the same video in the same run (issue 25).

A 1280x720 video at 10 frames a second, made from the vendored public photographs (apps/matching/agent/scenes.py):
people cross the street left to right, one entering every 1.5 s and crossing in 6 s, so a frame holds 1 to 4 faces;
they are, in turn, another photograph of the enrolled person (obama2.jpg; the template is dlib's vector of
obama.jpg), Joe Biden, a third photograph of the enrolled person (obama3.jpg), and Joe Biden again. The video is
sampled at 10 frames a second (every frame).

- models alone: the video decoded and sampled, each frame through the face engine (dlib's: MTCNN, dlib's alignment
  and descriptor), nothing else;
- the agent: `CaptureAgent.run` on the same file, with a live camera's clock (its uplink on a thread of its own),
  matching, tracking, deciding, the encrypted queue and HTTP to a stand-in for Govern's agent API on 127.0.0.1
  (tests/matching/agent/fake_govern.py).

Reported: wall and CPU seconds and ms a frame of each, the agent's overhead over the models (target <= +10 %); the
real-time factor (video seconds over the agent's wall seconds) and the agent's lag behind a live camera at each
quarter of the video (a lag that grows is a backlog); people passing against tracks, alerts and receipts; and the
process's peak memory (RSS) after the models alone and after the agent.

    .venv/bin/python benchmarks/agent_bench.py [--seconds 300] [--size 1280x720] [--rate 10]
    .venv/bin/python benchmarks/agent_bench.py --smoke    (4.5 s at 640x360, 5 frames/s: the test suite runs it)
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.audit_bench import SMOKE_HELP, machine  # noqa: E402
from benchmarks.engine_bench import configure  # noqa: E402

ENTER_EVERY, CROSSING = 1.5, 6.0  # seconds: one person enters every 1.5 s and crosses in 6 s: 1 to 4 in a frame
ROLES = (("obama2", True), ("biden", False), ("obama3", True), ("biden", False))  # (photograph, enrolled person)


def people(seconds: float, size: tuple[int, int], enter_every: float, crossing: float) -> list:
    """Everyone who crosses the whole street within the video, in turn, at staggered heights."""
    from apps.matching.agent.scenes import Passer

    height = size[1] // 2
    crowd, enters = [], 0.0
    while enters + crossing <= seconds:
        name, _ = ROLES[len(crowd) % len(ROLES)]
        top = (len(crowd) % 4) * (size[1] - height) // 3
        crowd.append(Passer(name, enters, crossing, height, top=top))
        enters += enter_every
    return crowd


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def models_alone(engine, path: str, rate: float) -> tuple[float, float, int, int]:
    """Wall and CPU seconds, frames and faces: the video sampled and each frame through the engine."""
    from apps.matching.agent.video import sampled_frames

    started, cpu, frames, faces = time.perf_counter(), time.process_time(), 0, 0
    for sample in sampled_frames(path, rate):
        found, _ = engine.detect_and_embed(sample.image)
        frames += 1
        faces += len(found)
    return time.perf_counter() - started, time.process_time() - cpu, frames, faces


def agent_run(engine, template, path: str, rate: float, queue_dir: Path):
    """Wall and CPU seconds, the outcome, and each frame's (wall seconds since the first, video time)."""
    from apps.matching.agent.client import GovernClient
    from apps.matching.agent.queue import BatchQueue
    from apps.matching.agent.runner import CaptureAgent, WallClock
    from tests.matching.agent.fake_govern import CREDENTIAL, FakeGovern

    class RecordingClock(WallClock):
        def __init__(self):
            self.frames: list[tuple[float, float]] = []

        def at_frame(self, sample) -> None:
            self.frames.append((time.perf_counter(), sample.time))

    govern = FakeGovern(engine, {5: template})
    clock = RecordingClock()
    queue = BatchQueue(queue_dir, CREDENTIAL)
    client = GovernClient(govern.url, CREDENTIAL, 12)
    agent = CaptureAgent(client, engine, queue, rate=rate, clock=clock)
    started, cpu = time.perf_counter(), time.process_time()
    outcome = agent.run(path, drain_seconds=30)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    queue_bytes = sum(file.stat().st_size for file in queue_dir.iterdir())
    queue.close()
    client.close()
    govern.close()
    first = clock.frames[0][0]
    return wall, cpu, outcome, [(at - first, video) for at, video in clock.frames], govern, queue_bytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="length of the video (default 300: 5 minutes)")
    parser.add_argument("--size", default="1280x720", help="frame size (default 1280x720)")
    parser.add_argument("--rate", type=float, default=10.0, help="frames a second, of the video and sampled")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    enter_every, crossing = ENTER_EVERY, CROSSING
    if args.smoke:  # two people crossing in 3 s, sampled at 5 frames a second: 23 frames
        args.seconds, args.size, args.rate, enter_every, crossing = 4.5, "640x360", 5.0, 1.5, 3.0
    size = tuple(int(side) for side in args.size.split("x"))
    configure()
    import torch
    from PIL import Image

    torch.set_num_threads(1)
    from apps.matching.agent import scenes
    from apps.matching.engine import DlibEngine

    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"machine: {machine()}; one torch thread; load average {' '.join(load)}")
    crowd = people(args.seconds, size, enter_every, crossing)
    enrolled = sum(1 for passer in crowd if passer.photograph.startswith("obama"))
    with tempfile.TemporaryDirectory(prefix="agent_bench_") as folder:
        path = str(scenes.write_video(Path(folder) / "street.mp4", crowd, seconds=args.seconds, fps=round(args.rate),
                                      size=size))  # fmt: skip
        engine = DlibEngine()
        _, vectors = engine.detect_and_embed(Image.open(scenes.PHOTOGRAPHS / "obama.jpg").convert("RGB"))
        print(f"video: {args.seconds:g} s at {args.size}, {args.rate:g} frames/s, {len(crowd)} people passing "
              f"({enrolled} of them the enrolled person)", flush=True)  # fmt: skip
        alone_wall, alone_cpu, frames, faces = models_alone(engine, path, args.rate)
        alone_rss = peak_rss_mb()
        wall, cpu, outcome, lags, govern, queue_bytes = agent_run(
            engine, vectors[0], path, args.rate, Path(folder) / "queue"
        )
        agent_rss = peak_rss_mb()
    print("\n| measure | models alone | agent | agent / models |")
    print("| --- | --- | --- | --- |")
    print(f"| wall seconds | {alone_wall:.1f} | {wall:.1f} | **{wall / alone_wall:.3f}** |")
    print(f"| CPU seconds (this process) | {alone_cpu:.1f} | {cpu:.1f} | {cpu / alone_cpu:.3f} |")
    print(f"| ms a frame (wall) | {alone_wall / frames * 1000:.1f} | {wall / outcome.frames * 1000:.1f} | |")
    print(f"| frames, faces | {frames}, {faces} | {outcome.frames}, {outcome.faces} | |")
    print(f"| peak RSS after it, MB | {alone_rss:.0f} | {agent_rss:.0f} | +{agent_rss - alone_rss:.0f} MB |")
    quarters = [lags[min(len(lags) - 1, round(len(lags) * part / 4))] for part in (1, 2, 3, 4)]
    print(f"\nreal-time factor (video s / agent wall s): {args.seconds / wall:.2f} (>= 1 keeps up with the camera)")
    print("lag behind a live camera at each quarter (s): " + ", ".join(f"{max(0.0, at - video):.1f}"
          for at, video in quarters))  # fmt: skip
    print("\n| people passing | tracks | alerts | receipts | tracks / person | expected alerts, receipts |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| {len(crowd)} | {outcome.tracks} | {outcome.alerts} | {outcome.receipts} | "
          f"{outcome.tracks / max(1, len(crowd)):.2f} | {enrolled}, {len(crowd) - enrolled} |")  # fmt: skip
    recorded = sum(track["faces"] for track in govern.tracks)
    balanced = recorded == outcome.faces and len(govern.tracks) == outcome.tracks and outcome.pending == 0
    print(f"\nqueue file at the end: {queue_bytes} bytes; batches acknowledged {outcome.batches_sent}")
    print(f"ledger balanced (faces and tracks recorded = seen and decided, nothing left queued): {balanced}")
    return 0 if balanced else 1


if __name__ == "__main__":
    sys.exit(main())
