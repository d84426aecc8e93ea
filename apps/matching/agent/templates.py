"""The session Govern grants an agent, and the deployment's templates held in the agent's memory only."""

import base64
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import numpy as np

from apps.matching.list_index import ListIndex

CANDIDATES = 5  # the best entries an alert names


class TemplatesDropped(RuntimeError):
    """The session's templates were dropped (a stop, or a new generation) while a frame was being matched."""


class SessionRefused(RuntimeError):
    """Govern refused the session, or granted one this agent must not run with (another engine, a malformed body)."""


@dataclass(frozen=True)
class Match:
    """One face's best entries: (entry, score) best first, one score per entry (its best template's)."""

    candidates: tuple[tuple[int, float], ...]

    @property
    def best_score(self) -> float:
        return self.candidates[0][1] if self.candidates else 0.0


@dataclass
class Session:
    """What Govern granted for one deployment: the threshold, the engine, the list's generation, the polling period
    and the templates (as a search index: entries only, no names or subject ids)."""

    deployment: int
    reference: str
    watchlist_hash: str
    threshold: float
    generation: int
    poll_seconds: float
    alert_window_seconds: float
    index: ListIndex | None = field(repr=False)
    entries: list[int] = field(repr=False)
    # The entries this session's templates belong to (ids only, kept after the templates are dropped): a track
    # decided after a new generation alerts only on entries still enrolled.
    enrolled: frozenset[int] = field(default=frozenset(), repr=False)

    @classmethod
    def from_answer(cls, body: dict, engine) -> "Session":
        """The session from the API's answer, refused unless it names this agent's own engine (name and weights)."""
        try:
            granted = body["engine"]
            if granted["name"] != engine.name or granted["weights_sha256"] != engine.weights_sha256:
                raise SessionRefused(
                    f"The session is for engine {granted['name']} (weights {granted['weights_sha256'][:16]}), "
                    f"this agent runs {engine.name} (weights {engine.weights_sha256[:16]}): refusing to start."
                )
            dimensions = int(granted["dimensions"])
            if dimensions != engine.dimensions:
                raise SessionRefused(f"The session's templates are {dimensions}-d, this engine's {engine.dimensions}.")
            entries, rows = [], []
            for template in body["templates"]:
                vector = np.frombuffer(base64.b64decode(template["vector"], validate=True), dtype="<f4")
                if vector.shape != (dimensions,) or not np.isfinite(vector).all():
                    raise SessionRefused(f"Template of entry {template['entry']} is not {dimensions} finite floats.")
                entries.append(int(template["entry"]))
                rows.append(vector)
            halves = np.asarray(rows, dtype=np.float16).reshape(len(rows), dimensions)
            return cls(
                deployment=int(body["deployment"]),
                reference=str(body["reference"]),
                watchlist_hash=str(body["watchlist_hash"]),
                threshold=float(Decimal(body["threshold"])),
                generation=int(body["generation"]),
                poll_seconds=float(body["poll_seconds"]),
                alert_window_seconds=float(body["alert_window_seconds"]),
                index=ListIndex(halves, [(entry, 0) for entry in entries]),
                entries=entries,
                enrolled=frozenset(entries),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise SessionRefused(f"The session's answer is malformed: {exc!r}") from exc

    @property
    def holds_templates(self) -> bool:
        return self.index is not None

    def match(self, vectors: np.ndarray) -> list[Match]:
        """Each face's best entries against every template held (an exact search)."""
        index, entries = self.index, self.entries  # another thread may drop them meanwhile: this frame finishes
        if index is None:
            raise TemplatesDropped("The templates were dropped: this session matches nothing any more.")
        if not len(vectors):
            return []
        scores, positions = index.nearest(vectors, CANDIDATES * 4)
        matches = []
        for row_scores, row_positions in zip(scores, positions, strict=True):
            best: dict[int, float] = {}
            for score, position in zip(row_scores, row_positions, strict=True):
                best.setdefault(entries[position], float(score))
            matches.append(Match(tuple(sorted(best.items(), key=lambda item: (-item[1], item[0]))[:CANDIDATES])))
        return matches

    def drop_templates(self) -> None:
        """Forget the templates (the deployment stopped, or a new generation replaces them)."""
        self.index, self.entries = None, []
