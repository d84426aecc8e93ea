"""The capture agent's loop: read, detect, embed, match, track, decide, queue, send; poll the deployment's status and
stop within 5 seconds of `live: false`.

Everything runs on one thread, in the order frames arrive: each sampled frame is one step, and between two steps the
agent polls the status (every poll_seconds) and sends what is due. A stalled stream cannot hold a step longer than
PyAV's read timeout (video.STREAM_TIMEOUT), so a stop is seen within poll_seconds + one frame's work + that timeout.

The clock says when things happen: a camera's frames are captured now (WallClock); a recorded video's frames happen
on its own timeline from a starting moment (VideoClock), which is how the tests drive a 60 s outage, status polls and
backoffs without waiting 60 real seconds. Captured-at times come from it and travel in every track.
"""

import logging
import math
import time
from dataclasses import dataclass

from .client import Answer, GovernClient, LinkDown
from .queue import BatchQueue
from .templates import Session, SessionRefused
from .tracking import PeoplePassing
from .video import DEFAULT_RATE, Sample, sampled_frames

logger = logging.getLogger(__name__)
MOST_TRACKS = 256  # a batch's tracks at most (the API's limit)
RETRIED = {401, 409}  # refusals resending may cure (a credential being rotated; a conflict being resolved)


class WallClock:
    """A live camera: a frame is captured when it is read."""

    def now(self) -> float:
        return time.time()

    def at_frame(self, sample: Sample) -> None:
        """Nothing: the wall clock moves by itself."""

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)


class VideoClock:
    """A recorded video on its own timeline: frame t seconds in was captured at `start` + t."""

    def __init__(self, start: float):
        self.start, self.video = start, 0.0

    def now(self) -> float:
        return self.start + self.video

    def at_frame(self, sample: Sample) -> None:
        self.video = sample.time

    def wait(self, seconds: float) -> None:
        self.video += seconds


@dataclass
class Outcome:
    """What a run did: why it ended, what it saw and decided, and what is still waiting in the queue."""

    reason: str
    frames: int = 0
    faces: int = 0
    tracks: int = 0
    alerts: int = 0
    receipts: int = 0
    batches_sent: int = 0
    pending: int = 0
    refused: int = 0
    stopped_after: float | None = None  # clock seconds from `live: false` first seen... to capture stopped

    def summary(self) -> str:
        return (
            f"{self.reason} Frames {self.frames}, faces {self.faces}, tracks {self.tracks} "
            f"({self.alerts} alerts, {self.receipts} receipts); {self.batches_sent} batches acknowledged, "
            f"{self.pending} waiting in the queue, {self.refused} refused and kept aside."
        )


class CaptureAgent:
    """One deployment's capture from one video source."""

    def __init__(self, client: GovernClient, engine, queue: BatchQueue, *, rate: float = DEFAULT_RATE, clock=None):
        self.client, self.engine, self.queue = client, engine, queue
        self.rate = rate
        self.clock = clock or WallClock()
        self.session: Session | None = None
        self._next_poll = 0.0
        self._stop: str | None = None

    def start(self) -> Session:
        """The session Govern grants, or SessionRefused (the deployment not live, another engine, no link)."""
        try:
            answer = self.client.session()
        except LinkDown as exc:
            raise SessionRefused(f"Govern cannot be reached to grant a session: {exc}") from exc
        if answer.status != 200:
            raise SessionRefused(f"Govern refused the session ({answer.status}): {answer.detail}")
        self.session = Session.from_answer(answer.body, self.engine)
        self._next_poll = self.clock.now() + self.session.poll_seconds
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
        outcome = Outcome(reason="")
        self._send(self.clock.now(), outcome)
        try:
            self.start()
        except SessionRefused as exc:
            self._drain(outcome, drain_seconds)
            outcome.reason = f"Not started: {exc}"
            return outcome
        passing = PeoplePassing(self.rate)
        stop_seen = None
        for sample in sampled_frames(source, self.rate):
            self.clock.at_frame(sample)
            now = self.clock.now()
            self._poll(now)
            if self._stop is not None:
                stop_seen = now
                break
            faces, vectors = self.engine.detect_and_embed(sample.image)
            matches = self.session.match(vectors)
            outcome.frames += 1
            outcome.faces += len(faces)
            self._decide(passing.see(sample.number, now, faces, matches), now, outcome)
            self._send(now, outcome)
        self.session.drop_templates()
        ended_at = self.clock.now()
        self._decide(passing.end_all(), ended_at, outcome)
        if stop_seen is not None:
            outcome.stopped_after = max(0.0, ended_at - stop_seen)
        self._drain(outcome, drain_seconds)
        outcome.reason = self._stop or "The video ended."
        return outcome

    def _decide(self, ended, now: float, outcome: Outcome) -> None:
        """Each ended track's decision, sealed into the queue at once (a crash loses no decided track)."""
        decided = [track.decide(self.session.threshold) for track in ended]
        for start in range(0, len(decided), MOST_TRACKS):
            chunk = decided[start : start + MOST_TRACKS]
            self.queue.put(chunk, now)
            outcome.tracks += len(chunk)
            outcome.alerts += sum(1 for track in chunk if track["decision"] == "alert")
            outcome.receipts += sum(1 for track in chunk if track["decision"] == "receipt")

    def _poll(self, now: float) -> None:
        """The deployment's status every poll_seconds: `live: false` stops capture; a new generation of the list's
        templates fetches the session again. With the link down, capture goes on: what it decides waits in the
        queue, and Govern accepts tracks captured while the deployment was live."""
        if now < self._next_poll:
            return
        self._next_poll = now + self.session.poll_seconds
        try:
            answer = self.client.status()
        except LinkDown as exc:
            logger.warning("Status unreachable, capture goes on: %s", exc)
            return
        if answer.status != 200:
            self._stop = f"Stopped: Govern refused the status ({answer.status}): {answer.detail}"
        elif not answer.body.get("live"):
            self._stop = (
                f"Stopped: deployment {self.session.deployment} is {answer.body.get('state', 'not live')}"
                f" ({answer.body.get('reason', 'no reason given')}); its templates were dropped."
            )
        elif answer.body.get("generation") != self.session.generation:
            previous = self.session
            try:
                self.start()
            except SessionRefused as exc:
                self._stop = f"Stopped: the list's templates changed and the new session was refused: {exc}"
            previous.drop_templates()

    def _send(self, now: float, outcome: Outcome, every: bool = False) -> bool:
        """Send the batches that are due (all of them with `every`); False when the link is down."""
        for batch in self.queue.due(math.inf if every else now):
            try:
                answer = self.client.send(batch.body)
            except LinkDown as exc:
                retry = self.queue.failed(batch.id, now)
                logger.warning("Batch %s not sent (%s); next try in %.1f s", batch.id, exc, retry - now)
                return False
            self._answered(batch.id, answer, now, outcome)
        return True

    def _answered(self, batch_id: str, answer: Answer, now: float, outcome: Outcome) -> None:
        if answer.status in (200, 201):
            self.queue.acknowledged(batch_id)
            outcome.batches_sent += 1
        elif answer.status in RETRIED or not 400 <= answer.status < 500:
            self.queue.failed(batch_id, now)
            logger.warning("Batch %s answered %s (%s); resent later", batch_id, answer.status, answer.detail)
        else:
            self.queue.refuse(batch_id, answer.status, answer.detail)
            logger.error("Batch %s refused (%s): %s; kept aside", batch_id, answer.status, answer.detail)

    def _drain(self, outcome: Outcome, seconds: float) -> None:
        """Send everything queued, waiting between tries while the link is down, for at most `seconds`."""
        deadline, wait = time.monotonic() + seconds, 0.5
        while self.queue.pending() and not self._send(self.clock.now(), outcome, every=True):
            if time.monotonic() + wait > deadline:
                break
            self.clock.wait(wait)
            if not isinstance(self.clock, WallClock):
                time.sleep(min(wait, 0.05))  # a recorded video's link may come back on real time too
            wait = min(wait * 2, 5.0)
        outcome.pending, outcome.refused = self.queue.pending(), len(self.queue.refused())
