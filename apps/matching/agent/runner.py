"""The capture agent's loop: read, detect, embed, match, track, decide, queue; and beside it the uplink, which polls
the deployment's status every poll_seconds and sends what the queue holds.

Capture never waits for the network: with a live camera (WallClock) the uplink runs on a thread of its own, so a
dropped or crawling link (a connect that times out) holds no frame; it drops the templates itself the moment it reads
`live: false`, and the capture loop stops at its next frame, so a stop takes at most poll_seconds + one request + one
frame's work (and a stalled stream cannot hold that frame past PyAV's read timeout, video.STREAM_TIMEOUT).

A recorded video runs on its own timeline from a starting moment (VideoClock), the uplink stepped between frames on
that timeline: that is how the tests drive a 60 s outage, the status polls and the backoffs without waiting 60 real
seconds. Captured-at times come from the clock and travel in every track.
"""

import logging
import math
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from .client import Answer, GovernClient, LinkDown
from .queue import Batch, BatchQueue
from .templates import Session, SessionRefused, TemplatesDropped
from .tracking import EMBED_EVERY, PeoplePassing
from .video import DEFAULT_RATE, Sample, sampled_frames

logger = logging.getLogger(__name__)
MOST_TRACKS = 256  # a batch's tracks at most (the API's limit)
RETRIED = {401, 409}  # refusals resending may cure (a credential being rotated; a conflict being resolved)
UPLINK_TICK = 0.2  # seconds between two looks at the queue and the status clock on the uplink's thread
# Frames are detected at up to this width (the crops always cut from the full frame). 1280: a 720p camera's frames
# whole. A 640-wide copy costs MTCNN 95 ms a frame against 113 and finds the same faces, but at MIN_FACE 40 (20 in the
# copy) it also found 14 one-frame false faces in 12 s of the benchmark's street, each a receipt and an embedding
# (docs/benchmarks.md, The capture agent, run 2): worth it with --min-face 80 or more, not by default.
DETECT_WIDTH = 1280
# Faces of at least 40 pixels of the full frame (with a 1280-wide camera of 60 degrees, a face 16 cm wide at about
# 4 m); smaller faces the descriptor cannot tell apart reliably, and each halving of the minimum doubles detection.
MIN_FACE = 40
DETECTORS = 2  # frames detected at once, one a thread (torch releases the GIL in its operators): both cores at work
STAGES = ("decode", "detect", "track", "embed", "match", "queue")


class WallClock:
    """A live camera: a frame is captured when it is read; the uplink runs on its own thread."""

    threaded = True

    def now(self) -> float:
        return time.time()

    def at_frame(self, sample: Sample) -> None:
        """Nothing: the wall clock moves by itself."""

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)


class VideoClock:
    """A recorded video on its own timeline: frame t seconds in was captured at `start` + t; the uplink is stepped
    between frames."""

    threaded = False

    def __init__(self, start: float):
        self.start, self.video = start, 0.0

    def now(self) -> float:
        return self.start + self.video

    def at_frame(self, sample: Sample) -> None:
        self.video = sample.time

    def wait(self, seconds: float) -> None:
        self.video += seconds
        time.sleep(min(seconds, 0.05))  # a test's server thread may need a moment of real time too


@dataclass
class Outcome:
    """What a run did: why it ended, what it saw and decided, and what is still waiting in the queue."""

    reason: str = ""
    frames: int = 0
    faces: int = 0
    tracks: int = 0
    alerts: int = 0
    receipts: int = 0
    batches_sent: int = 0
    pending: int = 0
    refused: int = 0
    stopped_at: float | None = None  # when capture stopped on `live: false` (the clock's time, epoch seconds)
    embedded: int = 0  # faces through the descriptor (a track's best few, not all of them)
    # CPU seconds of each stage (STAGES), summed over the threads that ran it (the detection threads for "detect")
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    def summary(self) -> str:
        return (
            f"{self.reason} Frames {self.frames}, faces {self.faces}, tracks {self.tracks} "
            f"({self.alerts} alerts, {self.receipts} receipts); {self.batches_sent} batches acknowledged, "
            f"{self.pending} waiting in the queue, {self.refused} refused and kept aside."
        )


class Uplink:
    """The agent's side of the link: the status poll and the queue's sending, one step at a time."""

    def __init__(self, agent: "CaptureAgent", outcome: Outcome):
        self.agent, self.outcome = agent, outcome
        self.stop: str | None = None
        self.live_until: float | None = None  # when Govern says the live window closed (its status's stopped_at)
        self._next_poll = 0.0
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self, now: float) -> None:
        """Poll the status if due, then send the batches that are due."""
        if self.agent.session is not None and now >= self._next_poll and self.stop is None:
            self._next_poll = now + self.agent.session.poll_seconds
            self._poll()
        self.send(now)

    def _poll(self) -> None:
        """`live: false` stops capture and drops the templates at once; a new generation of the list's templates
        fetches the session again. With the link down capture goes on: what it decides waits in the queue, and
        Govern accepts tracks captured while the deployment was live."""
        session = self.agent.session
        try:
            answer = self.agent.client.status()
        except LinkDown as exc:
            logger.warning("Status unreachable, capture goes on: %s", exc)
            return
        if answer.status != 200:
            self._stopped(f"Stopped: Govern refused the status ({answer.status}): {answer.detail}.")
        elif not answer.body.get("live"):
            if answer.body.get("stopped_at"):
                self.live_until = datetime.fromisoformat(answer.body["stopped_at"]).timestamp()
            self._stopped(
                f"Stopped: deployment {session.deployment} is {answer.body.get('state', 'not live')} "
                f"({answer.body.get('reason', 'no reason given')}); its templates were dropped."
            )
        elif answer.body.get("generation") != session.generation:
            try:
                self.agent.start()
            except SessionRefused as exc:
                self._stopped(f"Stopped: the list's templates changed and the new session was refused: {exc}")
            session.drop_templates()

    def _stopped(self, reason: str) -> None:
        self.stop = reason
        self.agent.session.drop_templates()
        logger.warning(reason)

    def send(self, now: float, every: bool = False) -> bool:
        """Send the batches that are due (all of them with `every`); False when the link is down."""
        queue = self.agent.queue
        due = queue.due(math.inf if every else now)
        while due:
            batch = due.pop(0)
            try:
                answer = self.agent.client.send(batch.body)
            except LinkDown as exc:
                retry = queue.failed(batch.id, now)
                logger.warning("Batch %s not sent (%s); next try in %.1f s", batch.id, exc, retry - now)
                return False
            rest = self._answered(batch, answer, now)
            if rest is not None:
                due.insert(0, rest)
        return True

    def _answered(self, batch: Batch, answer: Answer, now: float) -> Batch | None:
        """Act on Govern's answer; the batch to send at once when Govern refused only some of its tracks, named (the
        others, split off under a new idempotency key)."""
        queue, batch_id = self.agent.queue, batch.id
        named = set(answer.body.get("tracks") or ()) if 400 <= answer.status < 500 else set()
        sent = {track["track"] for track in batch.body["tracks"]}
        if answer.status not in RETRIED and named and named < sent:
            rest = queue.split(batch, named, answer.status, answer.detail, now)
            logger.error(
                "Batch %s: %d track(s) refused (%s): %s; kept aside, the other %d resent as batch %s",
                batch_id, len(named), answer.status, answer.detail, len(rest.body["tracks"]), rest.id,
            )  # fmt: skip
            return rest
        if answer.status in (200, 201):
            queue.acknowledged(batch_id)
            self.outcome.batches_sent += 1
        elif answer.status in RETRIED or not 400 <= answer.status < 500:
            queue.failed(batch_id, now)
            logger.warning("Batch %s answered %s (%s); resent later", batch_id, answer.status, answer.detail)
        else:
            queue.refuse(batch_id, answer.status, answer.detail)
            logger.error("Batch %s refused (%s): %s; kept aside", batch_id, answer.status, answer.detail)
        return None

    def start_thread(self, clock) -> None:
        """Step on a thread of its own every UPLINK_TICK seconds until closed."""

        def loop():
            while not self._closed.wait(UPLINK_TICK):
                try:
                    self.step(clock.now())
                except Exception:  # the uplink must outlive a surprise; capture goes on and the queue keeps all
                    logger.exception("Uplink step failed")

        self._thread = threading.Thread(target=loop, name="capture-agent-uplink", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join()


class CaptureAgent:
    """One deployment's capture from one video source."""

    def __init__(
        self,
        client: GovernClient,
        engine,
        queue: BatchQueue,
        *,
        rate: float = DEFAULT_RATE,
        clock=None,
        detect_width: int = DETECT_WIDTH,
        min_face: int = MIN_FACE,
        embed_every: int = EMBED_EVERY,
        detectors: int = DETECTORS,
    ):
        self.client, self.engine, self.queue = client, engine, queue
        self.rate = rate
        self.clock = clock or WallClock()
        self.detect_width, self.min_face, self.embed_every = detect_width, min_face, embed_every
        self.detectors = detectors
        self.session: Session | None = None

    def start(self) -> Session:
        """The session Govern grants, or SessionRefused (the deployment not live, another engine, no link)."""
        try:
            answer = self.client.session()
        except LinkDown as exc:
            raise SessionRefused(f"Govern cannot be reached to grant a session: {exc}") from exc
        if answer.status != 200:
            raise SessionRefused(f"Govern refused the session ({answer.status}): {answer.detail}")
        self.session = Session.from_answer(answer.body, self.engine)
        logger.info(
            "Session for deployment %s (%s): %d templates, threshold %.3f, generation %d",
            self.session.deployment, self.session.reference, len(self.session.entries), self.session.threshold,
            self.session.generation,
        )  # fmt: skip
        return self.session

    def run(self, source: str, drain_seconds: float = 30.0) -> Outcome:
        """Capture from `source` until it ends or the deployment stops; then send what is queued (for at most
        `drain_seconds` of wall time: what is left waits in the queue for the next run). Batches queued by an earlier
        run go first, even when the session is then refused: they were captured while the deployment was live."""
        outcome = Outcome()
        uplink = Uplink(self, outcome)
        uplink.send(self.clock.now())
        try:
            self.start()
        except SessionRefused as exc:
            self._drain(uplink, drain_seconds)
            outcome.reason = f"Not started: {exc}"
            return outcome
        uplink._next_poll = self.clock.now() + self.session.poll_seconds
        if self.clock.threaded:
            uplink.start_thread(self.clock)
        passing = PeoplePassing(self.rate, self.embed_every)
        ended = None
        detected = self._detected(sampled_frames(source, self.rate), outcome)
        try:
            for sample, faces in detected:
                self.clock.at_frame(sample)
                now = self.clock.now()
                if not self.clock.threaded:
                    uplink.step(now)
                if uplink.stop is not None:
                    outcome.stopped_at = now
                    break
                with _stage(outcome, "track"):
                    ended = passing.see(sample.number, now, faces)
                outcome.frames += 1
                outcome.faces += len(faces)
                if not self._embed_and_match(passing.due(ended), outcome, uplink):  # stopped while this frame matched
                    outcome.stopped_at = now
                    break
                self._decide(ended, now, outcome)
                ended = None
            else:  # the video ended: the open tracks' last faces are matched while the templates are still held
                ended = passing.end_all()
                self._embed_and_match(passing.due(ended), outcome, uplink)
        finally:
            detected.close()  # the detection threads end with the loop, a stop's included
            uplink.close()
            self.session.drop_templates()
        # Stopped: the tracks are decided on the faces they had matched, cut where Govern says the live window closed
        # (faces seen after it are forgotten); a frame not yet tracked is forgotten.
        stopped = [*(ended or ()), *passing.end_all()]
        if uplink.live_until is not None:
            stopped = [track for track in stopped if track.cut(uplink.live_until)]
        self._decide(stopped, self.clock.now(), outcome)
        self._drain(uplink, drain_seconds)
        outcome.reason = uplink.stop or "The video ended."
        return outcome

    def _detected(self, samples, outcome: Outcome):
        """Each sample with its faces, in order, the next `detectors` frames being detected on their own threads
        meanwhile (a live camera's frames keep coming while one frame is in the models)."""
        samples = iter(samples)

        def detect(image):
            started = time.thread_time()
            faces = self.engine.detect_scaled(image, self.detect_width, self.min_face)
            return faces, time.thread_time() - started

        pool = ThreadPoolExecutor(self.detectors, thread_name_prefix="capture-agent-detect")
        waiting: deque = deque()
        try:
            while True:
                while len(waiting) <= self.detectors:
                    with _stage(outcome, "decode"):
                        sample = next(samples, None)
                    if sample is None:
                        break
                    waiting.append((sample, pool.submit(detect, sample.image)))
                if not waiting:
                    return
                sample, detection = waiting.popleft()
                faces, cpu = detection.result()
                outcome.cpu["detect"] += cpu
                yield sample, faces
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _embed_and_match(self, due, outcome: Outcome, uplink: Uplink) -> bool:
        """The due faces embedded in one batch and matched, each match handed to its track; False when the templates
        were dropped by a stop meanwhile."""
        if not due:
            return True
        with _stage(outcome, "embed"):
            vectors = self.engine.embed([face for _, face in due])
        outcome.embedded += len(due)
        with _stage(outcome, "match"):
            try:
                matches = self.session.match(vectors)
            except TemplatesDropped:  # the uplink dropped them while these faces were in the models
                if uplink.stop is not None:
                    return False
                matches = self.session.match(vectors)  # a new generation replaced them
            for (track, face), match in zip(due, matches, strict=True):
                track.matched(face, match)
        return True

    def _decide(self, ended, now: float, outcome: Outcome) -> None:
        """Each ended track's decision, sealed into the queue at once (a crash loses no decided track)."""
        with _stage(outcome, "queue"):
            self._queue_decisions(ended, now, outcome)

    def _queue_decisions(self, ended, now: float, outcome: Outcome) -> None:
        decided = [track.decide(self.session.threshold, self.session.enrolled) for track in ended]
        for start in range(0, len(decided), MOST_TRACKS):
            chunk = decided[start : start + MOST_TRACKS]
            self.queue.put(chunk, now)
            outcome.tracks += len(chunk)
            outcome.alerts += sum(1 for track in chunk if track["decision"] == "alert")
            outcome.receipts += sum(1 for track in chunk if track["decision"] == "receipt")

    def _drain(self, uplink: Uplink, seconds: float) -> None:
        """Send everything queued, waiting between tries while the link is down, for at most `seconds` of wall time."""
        deadline, wait = time.monotonic() + seconds, 0.5
        while self.queue.pending() and not uplink.send(self.clock.now(), every=True):
            if time.monotonic() + wait > deadline:
                break
            self.clock.wait(wait)
            wait = min(wait * 2, 5.0)
        uplink.outcome.pending, uplink.outcome.refused = self.queue.pending(), len(self.queue.refused())


class _stage:
    """CPU seconds of this thread spent in a stage, added to the outcome's."""

    def __init__(self, outcome: Outcome, name: str):
        self.outcome, self.name = outcome, name

    def __enter__(self):
        self.started = time.thread_time()

    def __exit__(self, *exc):
        self.outcome.cpu[self.name] += time.thread_time() - self.started
