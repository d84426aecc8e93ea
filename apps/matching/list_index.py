"""An approved watchlist version's templates in a worker's memory, and the exact search of every face against them.

pgvector is the record: `matching_watchlisttemplate` holds each template as a halfvec of its engine's size (512 for
facenet, 128 for dlib), float16, and a version is read with the engine in use's templates only. A worker reads
a version's templates once and keeps them as FAISS's flat float16 codes, the record's own values, and every face is
scored against every template: an exact search, with no index to miss a match. What makes it quick is the bytes a
face reads: 20 MB at 20,000 templates as float16, against 41 MB as a float32 matrix. One face's search took 0.71x
the matrix's time at the median and 0.49x at p99 (docs/benchmarks.md, Matching: the watchlist scan in float16). A
crowded frame pays for it: the scan reads every code once per face, where the matrix scored a frame's faces in one
multiply (0.61 against 0.43 ms a face for 32 faces); most frames hold one or two.

FAISS spreads its work over OpenMP threads, but a worker's core is the face engine's, so the codes are made and
scanned on the calling thread alone. OpenMP keeps that setting per thread, so it is set for each call and the
thread's own is put back after (a request thread may run other FAISS work, such as the custody graph's).

A worker holds a few versions at once (HeldLists), each with the generation of its list's templates it was read at.
Deleting any of a list's templates (a purge, a person's deletion) moves the generation in the database, in the same
transaction; each frame's admission reads the generations of the lists the worker holds, in the statement it sends
anyway, and the worker drops every version whose generation moved before it matches the frame. So a purged list's
templates leave every worker's memory at its next frame, not when the cache happens to evict them.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager

import faiss
import numpy as np


@contextmanager
def _one_thread():
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


class ListIndex:
    """One version's templates of one engine, position by position, with the (entry, subject) each belongs to; faces
    are searched only with vectors of the engine's size."""

    def __init__(self, halves: np.ndarray, owners: list[tuple[int, int]]):
        if len(halves) != len(owners):
            raise ValueError("every template needs its owner")
        self.owners = owners
        self.dimensions = halves.shape[1]
        self._codes = faiss.IndexScalarQuantizer(
            self.dimensions, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        if len(halves):
            # float16 values widened to float32 and narrowed back: the codes are the record's values, bit for bit.
            with _one_thread():
                self._codes.add(np.ascontiguousarray(halves, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.owners)

    def nearest(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Each vector's k best templates by inner product: (scores, positions), one row per vector, best first.

        Ties go to the lower position, at the top and at the k-th place alike, so the entry an alert names never
        depends on how the scan met the templates. With fewer than k templates, each row holds them all."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim == 1:
            vectors = vectors[None, :]
        if vectors.ndim != 2 or vectors.shape[1] != self.dimensions or not np.isfinite(vectors).all():
            raise ValueError(f"Expected finite {self.dimensions}-d vectors, got an array of shape {vectors.shape}.")
        k = min(k, len(self))
        if k == 0:
            return np.zeros((len(vectors), 0), dtype=np.float32), np.zeros((len(vectors), 0), dtype=np.int64)
        # One more than asked: when it ties with the k-th, the tie may reach past what the scan returned.
        scores, positions = self._search(vectors, min(k + 1, len(self)))
        best_scores = np.empty((len(vectors), k), dtype=np.float32)
        best_positions = np.empty((len(vectors), k), dtype=np.int64)
        for row, vector in enumerate(vectors):
            row_scores, row_positions = scores[row], positions[row]
            if len(row_scores) > k and row_scores[k] == row_scores[k - 1]:
                row_scores, row_positions = self._every_score(vector)
            tied_or_better = row_scores >= row_scores[k - 1]
            row_scores, row_positions = row_scores[tied_or_better], row_positions[tied_or_better]
            order = np.lexsort((row_positions, -row_scores))[:k]
            best_scores[row], best_positions[row] = row_scores[order], row_positions[order]
        return best_scores, best_positions

    def _search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        with _one_thread():
            return self._codes.search(vectors, k)

    def _every_score(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every template's score for one vector (only when a tie crosses the k-th place: duplicated templates)."""
        scores, positions = self._search(vector[None, :], len(self))
        return scores[0], positions[0]


class HeldLists:
    """The list versions one process holds in memory, least recently used first, each with the generation of its
    list's templates it was read at; shared by the process's request threads."""

    def __init__(self, size: int):
        self.size = size
        self._held: OrderedDict[tuple, tuple[int, ListIndex]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, read: Callable[[], tuple[int, ListIndex]]) -> ListIndex:
        """The version under `key` (its watchlist's id first), read with `read` -> (generation, index) if not held.
        `read` must read the generation before the templates: a deletion between the two then only costs a re-read."""
        with self._lock:
            held = self._held.get(key)
            if held is not None:
                self._held.move_to_end(key)
                return held[1]
        generation, index = read()
        with self._lock:
            self._held[key] = (generation, index)
            while len(self._held) > self.size:
                self._held.popitem(last=False)
        return index

    def watchlists(self) -> list[int]:
        """The watchlists of the versions held: whose generations a frame's admission reads."""
        with self._lock:
            return sorted({key[0] for key in self._held})

    def drop_stale(self, generations: dict[int, int]) -> list[int]:
        """Drop every version whose list's generation is no longer the one it was read at (a list without a
        generation row has never lost a template: 0). Returns the watchlists dropped."""
        with self._lock:
            stale = [key for key, (read_at, _) in self._held.items() if generations.get(key[0], 0) != read_at]
            for key in stale:
                del self._held[key]
        return sorted({key[0] for key in stale})

    def drop(self, watchlist_ids) -> list[int]:
        """Drop these lists' templates (a deployment stopped in an emergency); the lists that were held."""
        wanted = set(watchlist_ids)
        with self._lock:
            gone = [key for key in self._held if key[0] in wanted]
            for key in gone:
                del self._held[key]
        return sorted({key[0] for key in gone})

    def clear(self) -> None:
        with self._lock:
            self._held.clear()


def as_list(vector) -> list[float]:
    """pgvector returns a HalfVector or a list, depending on the driver's registration."""
    return vector.to_list() if hasattr(vector, "to_list") else list(vector)


def halfvec(value) -> np.ndarray:
    """A halfvec from the binary protocol: int16 dimensions, int16 unused, then big-endian float16 values."""
    if isinstance(value, bytes | bytearray | memoryview):
        return np.frombuffer(value, dtype=">f2", offset=4)
    return np.asarray(as_list(value), dtype=np.float32)  # a driver that registered pgvector's own loaders
