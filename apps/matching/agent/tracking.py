"""People passing: faces followed across frames with supervision's ByteTrack, and one decision per track when it ends.

A track holds no face it will not need: for each face it folds the SHA-256 of the crop into an HMAC under a random key
of its own, and keeps only its best-scoring face (the crop an alert carries). When the track ends, its best score at
or above the threshold makes an alert with that crop; else a receipt whose commitment is the HMAC, and the key, the
best crop and the track itself are dropped: nothing of a non-matching face leaves memory, and nobody, the agent
included, can later test a face against the commitment.

A track embeds few of its faces, not every one (dlib's descriptor takes about 100 ms a face, nearly a whole 1280x720
frame's detection): the best face (the largest, surest box) of each `embed_every` frames, and the best since at the
track's end, so a person crossing for 6 s at 10 frames a second is embedded 6 or 7 times rather than 60. Its best
score is the best of those; every face still goes into the commitment.

ByteTrack reports a track from the second frame it is matched in (a new one is confirmed by its next frame); the face
of that first frame waits one frame and joins the track whose box it overlaps. A face ByteTrack never confirms (seen
in one frame only) is a track of its own, so every face the engine found is in exactly one decision.
"""

import base64
import hashlib
import hmac
import secrets
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from apps.matching.engine import Face

from .templates import Match

LOST_SECONDS = 1.0  # a track not seen for this long has ended (the person has passed)
EMBED_EVERY = 10  # frames: a track embeds its best face of each 10 sampled frames (1 s at 10 frames a second)
JOIN_IOU = 0.3  # a first-frame face joins a newly confirmed track whose box overlaps it this much


def _tracker(rate: float, lost_frames: int):
    with warnings.catch_warnings():
        # supervision >= 0.30 without OpenCV warns that it uses NumPy, and that ByteTrack moves to `trackers` in
        # 0.31 (README, The capture agent: why this tracker).
        warnings.simplefilter("ignore")
        import supervision

        # ByteTrack keeps a lost track for int(frame_rate / 30 * lost_track_buffer) frames: lost_frames here.
        return supervision.ByteTrack(
            frame_rate=rate, lost_track_buffer=int(np.ceil(lost_frames * 30 / rate)), minimum_consecutive_frames=1
        ), supervision


def _crop_digest(face: Face) -> bytes:
    crop = face.crop if isinstance(face.crop, np.ndarray) else face.crop.numpy()
    return hashlib.sha256(np.ascontiguousarray(crop).tobytes()).digest()


def iso(moment: float) -> str:
    """A capture time (seconds since the epoch) as ISO 8601 UTC."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")


def _quality(face: Face) -> float:
    """How good a face is to embed: its box's shorter side weighted by the detector's probability (a larger, surer face
    gives the descriptor more to work with)."""
    return face.size * face.probability


def _iou(one, other) -> float:
    left, top = max(one[0], other[0]), max(one[1], other[1])
    right, bottom = min(one[2], other[2]), min(one[3], other[3])
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = (one[2] - one[0]) * (one[3] - one[1]) + (other[2] - other[0]) * (other[3] - other[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass(eq=False)
class Track:
    """One person passing, while the agent follows them: the frames spanned, the faces seen, the commitment so far,
    and the best face (its crop, score and candidates)."""

    first_frame: int
    first_seen: float
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    last_frame: int = 0
    last_seen: float = 0.0
    faces: int = 0
    best_score: float = -1.0
    best_face: Face | None = field(default=None, repr=False)
    best_match: Match | None = field(default=None, repr=False)
    embedded: int = 0
    _pending: Face | None = field(default=None, repr=False)  # the best face since the last embedding, not yet embedded
    _pending_seen: float = 0.0
    _due_seen: float = 0.0  # when the face last handed out to be embedded was seen
    _embed_at: int = 0  # the frame from which the pending face is due
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _mac: hmac.HMAC | None = field(default=None, repr=False)
    # Until the decision, so that a stop can cut the track where the live window closed (cut): every face's frame,
    # time and crop digest, and each embedded face that was the best when matched, with when it was seen.
    _seen: list = field(default_factory=list, repr=False)
    _bests: list = field(default_factory=list, repr=False)

    def __post_init__(self):
        self._embed_at = self.first_frame
        self._mac = hmac.new(self._key, digestmod="sha256")

    def add(self, frame: int, seen: float, face: Face, match: Match | None = None) -> None:
        """One more face of this person (frames in order), with its match if it was embedded already; else it waits
        to be embedded if it is the best face since the last embedding."""
        self.last_frame, self.last_seen = frame, seen
        self.faces += 1
        digest = _crop_digest(face)
        self._mac.update(digest)
        self._seen.append((frame, seen, digest))
        if match is not None:
            self.embedded += 1
            self._due_seen = seen
            self.matched(face, match)
        elif self._pending is None or _quality(face) > _quality(self._pending):
            self._pending, self._pending_seen = face, seen

    def due(self, frame: int, every: int, ended: bool = False) -> Face | None:
        """The face to embed now: the best one waiting, once `every` frames have passed since the last embedding (or
        the track first seen), or at once when the track has ended; None when none is due."""
        if self._pending is None or not (ended or frame - self._embed_at >= every - 1):
            return None
        face, self._pending, self._embed_at = self._pending, None, frame + 1
        self._due_seen = self._pending_seen
        self.embedded += 1
        return face

    def matched(self, face: Face, match: Match) -> None:
        """An embedded face's match: the track's best so far if it scores higher."""
        if match.best_score > self.best_score:
            self.best_score, self.best_face, self.best_match = match.best_score, face, match
            self._bests.append((self._due_seen, match.best_score, face, match))

    def cut(self, until: float) -> bool:
        """Forget the faces seen after `until` (when the deployment stopped being live); False when none is left,
        the track then to be forgotten undecided: it was never seen while matching was allowed."""
        kept = [face for face in self._seen if face[1] <= until]
        if not kept:
            return False
        if len(kept) < len(self._seen):
            self._seen, self._bests = kept, [best for best in self._bests if best[0] <= until]
            self.faces = len(kept)
            self.last_frame, self.last_seen = kept[-1][:2]
            self._mac = hmac.new(self._key, b"".join(digest for *_, digest in kept), digestmod="sha256")
            if self._bests:
                _, self.best_score, self.best_face, self.best_match = self._bests[-1]
            else:  # no face matched before the cut: a receipt
                self.best_score, self.best_face, self.best_match = -1.0, None, None
            if self._pending is not None and self._pending_seen > until:
                self._pending = None
        return True

    def decide(self, threshold: float, enrolled: frozenset[int] | None = None) -> dict:
        """The track's one decision, as the batches endpoint takes it; the key and faces are forgotten. With
        `enrolled` (the entries of the session in force when the track ends), candidates matched under an earlier
        generation of the list whose entries have since left it are dropped: nobody purged from the list is alerted
        on, and the receipt's best score is then the best of the candidates left (0 if none)."""
        matched = self.best_match.candidates if self.best_match else ()
        candidates = tuple(c for c in matched if enrolled is None or c[0] in enrolled)
        if candidates != matched:
            self.best_score = candidates[0][1] if candidates else 0.0
        decision = {
            "track": str(self.id),
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "frames": self.last_frame - self.first_frame + 1,
            "faces": self.faces,
            "best_score": round(self.best_score, 6),
            "commitment": self._mac.hexdigest(),
        }
        if candidates and self.best_score >= threshold:
            decision.update(
                decision="alert",
                entry=candidates[0][0],
                candidates=[{"entry": entry, "score": round(score, 6)} for entry, score in candidates],
                crop=base64.b64encode(self.best_face.crop_jpeg()).decode("ascii"),
            )
        else:
            decision["decision"] = "receipt"
        self._mac = self._key = self.best_face = self.best_match = self._pending = None
        self._seen, self._bests = [], []
        return decision


class PeoplePassing:
    """The tracks of one camera's sampled frames: `see` each frame's faces, in order; it returns the tracks that ended
    (not seen for LOST_SECONDS). Then `due` gives the faces to embed now (those of the ended tracks among them), whose
    matches go back to their tracks (`Track.matched`) before the ended ones are decided, each once."""

    def __init__(self, rate: float, embed_every: int = EMBED_EVERY):
        if embed_every < 1:
            raise ValueError("A track embeds its best face of at least every frame (embed_every >= 1).")
        self.embed_every = embed_every
        self.lost_frames = max(1, round(rate * LOST_SECONDS))
        self._frame = 0  # the last frame seen
        self._tracker, self._supervision = _tracker(rate, self.lost_frames)
        self._open: dict[int, Track] = {}
        self._waiting: list[tuple[int, float, Face, Match]] = []  # faces of the last frame that no track reported yet

    @property
    def open_tracks(self) -> int:
        return len(self._open)

    def see(self, frame: int, seen: float, faces: list[Face], matches: list[Match] | None = None) -> list[Track]:
        """One sampled frame's faces (number, capture time, faces, and their matches if every face was embedded
        already); the tracks that ended."""
        supervision = self._supervision
        matches = matches if matches is not None else [None] * len(faces)
        self._frame = frame
        if faces:
            detections = supervision.Detections(
                xyxy=np.asarray([face.box for face in faces], dtype=np.float32),
                confidence=np.asarray([face.probability for face in faces], dtype=np.float32),
                data={"face": np.arange(len(faces))},
            )
        else:
            detections = supervision.Detections.empty()
        tracked = self._tracker.update_with_detections(detections)
        placed = set()
        for tracker_id, position in zip(tracked.tracker_id, tracked.data.get("face", []), strict=True):
            face, match = faces[int(position)], matches[int(position)]
            placed.add(int(position))
            track = self._open.get(int(tracker_id))
            if track is None:
                track = self._open[int(tracker_id)] = self._started(frame, seen, face)
            track.add(frame, seen, face, match)
        ended = [self._alone(*waiting) for waiting in self._waiting]  # faces no track claimed: one-face tracks
        self._waiting = [
            (frame, seen, faces[position], matches[position])
            for position in range(len(faces))
            if position not in placed
        ]
        for tracker_id in [key for key, track in self._open.items() if frame - track.last_frame > self.lost_frames]:
            ended.append(self._open.pop(tracker_id))
        return ended

    def due(self, ended: list[Track]) -> list[tuple[Track, Face]]:
        """The faces to embed after the last `see`: each open track's best face when its turn has come, and each ended
        track's best face not yet embedded."""
        due = [(track, track.due(self._frame, self.embed_every)) for track in self._open.values()]
        due += [(track, track.due(self._frame, self.embed_every, ended=True)) for track in ended]
        return [(track, face) for track, face in due if face is not None]

    def _started(self, frame: int, seen: float, face: Face) -> Track:
        """A track ByteTrack has just confirmed, with its first frame's face if that waited for it."""
        for waiting in self._waiting:
            if waiting[0] == frame - 1 and _iou(waiting[2].box, face.box) >= JOIN_IOU:
                self._waiting.remove(waiting)
                track = Track(waiting[0], waiting[1])
                track.add(*waiting)
                return track
        return Track(frame, seen)

    @staticmethod
    def _alone(frame: int, seen: float, face: Face, match: Match) -> Track:
        track = Track(frame, seen)
        track.add(frame, seen, face, match)
        return track

    def end_all(self, until: float | None = None) -> list[Track]:
        """Every track still open, and every face waiting (the video ended, or capture stopped); with `until` (when
        the deployment stopped being live), cut there: faces seen after it are forgotten, never decided."""
        ended = [*self._open.values(), *(self._alone(*waiting) for waiting in self._waiting)]
        self._open.clear()
        self._waiting = []
        self._tracker.reset()
        return ended if until is None else [track for track in ended if track.cut(until)]
