"""The custody search's graph: HNSW over the gallery's projections, walked in the searching process's memory by FAISS,
with PostgreSQL as the record (docs/benchmarks.md, Matching: the custody graph in the searching process's memory).

Why not pgvector's HNSW over the same projections: at a million templates its graph reached recall@10 0.956 at 45x
faster than exact search, and more only at a width too slow for 40x. FAISS walks the same kind of graph, built with
the same links (m 32, ef_construction 128), over the projections in 8-bit codes, about eight times faster per candidate,
so the search can afford the width that recall needs: a walk that keeps the best 700, whose nearest 200 are re-ranked
exactly on the full vectors in PostgreSQL.

What lies where:
- The record: `matching_custodyreduced`, every template's projection, in PostgreSQL.
- On disk, one pair of files per projection in CUSTODY_GRAPH_DIR: the graph's links, and the template id at each of
  its positions. Never a vector: the files say which positions are neighbours, nothing about any face. `fit` writes
  them; a process that finds none for the projection in force builds them from the record (about 6 minutes at a
  million templates on 2 cores) and writes them, one process at a time.
- In memory: the graph, with the projections read from the record when the process loads it and kept as 8-bit
  codes (128 bytes a template; the links take about 260 more).

Erasure (apps.watchlists.services.erasure): the template's rows go in the erasing transaction; after it commits
`forget_in_files` clears the erased ids from the files, and the outbox's task `unlink_in_files` takes the erased
positions out of the graph's links on disk: their own links emptied, and every link to them removed from the other
positions' lists, each list that lost one given the nearest of the erased position's own neighbours in its place, so the
graph stays connected (`_unlink`). Every process's graph does the same in memory at its next `sync`, and overwrites the
erased codes; a process loading files the task has not reached yet does it at load. What remains: the links between
other positions that the graph made while the erased template was in it (a link built through the erased position, or
chosen over a link to it) stay until the next `custody_index fit` rebuilds the graph; they name no erased position
(docs/security.md). FAISS cannot do this itself: HNSW indexes do not support `remove_ids` ("the graph has to be
re-linked after some nodes are removed", facebookresearch/faiss#3339), so `_unlink` edits the graph's link table in
place.

Keeping up with the record: each search request starts with `sync`. Templates projected since the graph was loaded
are added to it. Those deleted since have their code overwritten with the zero vector's, their links taken out of the
graph, and their position left out of every result, so no process keeps a deleted face's projection, or where it lay
among the others, beyond its next search. The exact re-rank joins
the templates table, so a template deleted during a request is never a candidate either. A search whose projection
a refit replaced meanwhile is told so (Superseded) and takes the new one.
"""

import contextlib
import fcntl
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import psycopg
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

LINKS = 32  # HNSW links per node (m): as the pgvector index it replaces
BUILD_WIDTH = 128  # ef_construction
_COPY_HEADER, _COPY_TRAILER = 19, 2  # PostgreSQL's binary COPY: signature, flags and extension length; then -1


@dataclass
class Graph:
    """One projection's graph in this process: the FAISS index, its vectors, and the template id at each position."""

    projection: tuple[int, str]  # the projection's pk and components' SHA-256
    index: faiss.IndexHNSWSQ
    storage: faiss.IndexScalarQuantizer  # the codes; held here too, since a loaded graph does not own them
    ids: np.ndarray  # int64; -1 where the template was deleted
    live: np.ndarray | None = None  # a bitmap of the positions still held, once any was deleted (else None)

    def search(self, reduced: np.ndarray, count: int, width: int) -> np.ndarray:
        """The ids of the (up to) `count` templates nearest by cosine in the projection, nearest first, from a walk
        of the graph that keeps the `width` best seen (FAISS's efSearch; at least `count`). Deleted positions are
        walked through (they keep the graph connected) but never returned, so they take no candidate's place."""
        query = _unit(np.asarray(reduced, dtype=np.float32)[None, :])
        with _lock:
            params = faiss.SearchParametersHNSW(efSearch=max(width, count))
            if self.live is not None:
                selector = faiss.IDSelectorBitmap(len(self.ids), faiss.swig_ptr(self.live))
                params.sel = selector  # `selector` and `self.live` outlive the search below
            _, positions = self.index.search(query, count, params=params)
            found = self.ids[positions[0][positions[0] >= 0]]
        return found[found >= 0]

    def sync(self) -> tuple[int, int]:
        """Catch up with the record: add templates projected since; overwrite the codes of those deleted since with
        the zero vector's, and stop returning them. Returns (added, removed). Raises Superseded when the projection
        is no longer in force (a refit committed): nothing is changed then."""
        with _lock:
            present = _read_ids(self.projection[0])
            known = self.ids[self.ids >= 0]
            gone = np.setdiff1d(known, present, assume_unique=True)
            if len(gone):
                at = np.flatnonzero(np.isin(self.ids, gone))
                self.ids[at] = -1
                codes = _codes(self.storage)
                _unlink(self.index.hnsw, at, self.ids < 0, lambda positions: self.storage.sa_decode(codes[positions]))
                codes[at] = _zero_code(self.storage)  # the projection leaves this process's memory
            new = np.setdiff1d(present, known, assume_unique=True)
            if len(new):
                ids, vectors = _read_rows(self.projection[0], only=new)
                self.index.add(_unit(vectors))
                self.ids = np.concatenate([self.ids, ids])
            if len(gone) or len(new):
                self.live = _live(self.ids)
        return len(new), len(gone)

    @property
    def size(self) -> int:
        return int((self.ids >= 0).sum())


_lock = threading.RLock()
_loaded: Graph | None = None


class Superseded(Exception):
    """The projection asked for is no longer in force: a refit replaced it. Ask custody_index for the current one."""


def for_projection(pk: int, sha256: str) -> Graph:
    """The projection's graph in this process, loaded (or built) once, and brought up to date with the record.
    Raises Superseded when the projection has been replaced meanwhile."""
    global _loaded
    key = (pk, sha256)
    with _lock:
        if _loaded is None or _loaded.projection != key:
            _loaded = None  # let the old projection's memory go first
            _loaded = _load_or_build(key)
        graph = _loaded
    graph.sync()
    return graph


def build(pk: int, sha256: str) -> Graph:
    """Build the projection's graph from the record (in the caller's transaction, so `fit` sees its own rows),
    write its files, and keep it as this process's graph."""
    global _loaded
    key = (pk, sha256)
    with _lock:  # no file lock: `fit` holds the tables, and a process holding the file lock may be waiting for them
        graph = _build(key)
        _save(graph)  # each file is written to a temporary name and renamed, so a reader never sees half of one
        _loaded = graph
    return graph


def forget() -> None:
    """Drop this process's graph (the next search loads it again from the files and the record)."""
    global _loaded
    with _lock:
        _loaded = None


def forget_in_files(template_ids) -> int:
    """Stop the graph files naming erased templates: their positions' ids become -1, as a deleted template's are in
    memory, so a process that loads the files later never learns whose the position was. Run after the erasure
    commits, one process at a time; only the ids file is rewritten (8 bytes a template), so the erasure stays fast.
    Their links go next, in the outbox's task (`unlink_in_files`); a process that loads the files before then takes
    them out of its own graph at load. Returns how many positions were cleared."""
    erased = np.asarray(sorted(template_ids), dtype=np.int64)
    cleared = 0
    with _file_lock():
        for path in Path(settings.CUSTODY_GRAPH_DIR).glob("*.ids.npy"):
            ids = np.load(path)
            at = np.isin(ids, erased)
            if at.any():
                ids[at] = -1
                _write_ids(path, ids)
                cleared += int(at.sum())
    return cleared


def unlink_in_files() -> int:
    """Take every template the record no longer holds out of the graph files' links (`_unlink`), and out of their ids:
    the erasure's task (apps.matching.tasks.unlink_erased_from_graph), idempotent, one process at a time. It reads and
    rewrites the whole graph (about 280 MB at a million templates), which is why it is not in the erasing request.
    Returns how many positions it took out."""
    done = 0
    with _file_lock():
        for path in Path(settings.CUSTODY_GRAPH_DIR).glob("*.hnsw"):
            try:
                ids = np.load(path.with_suffix(".ids.npy"))
                index = faiss.read_index(str(path), faiss.IO_FLAG_SKIP_STORAGE)
                held = _read_ids(_projection_of(path))
            except (OSError, RuntimeError, ValueError, Superseded):
                continue  # unreadable, or a refit replaced it: never loaded as it is (a load builds it again)
            if index.ntotal != len(ids):
                continue
            ids = np.where(np.isin(ids, held), ids, -1).astype(np.int64)
            dead = ids < 0
            linked = _still_linked(index.hnsw, np.flatnonzero(dead))
            if not len(linked):
                continue
            _unlink(index.hnsw, linked, dead, _record_vectors(_projection_of(path), ids))
            temporary = path.with_suffix(".erase.tmp")
            faiss.write_index(index, str(temporary), faiss.IO_FLAG_SKIP_STORAGE)
            _sync_file(temporary)
            os.replace(temporary, path)
            _write_ids(path.with_suffix(".ids.npy"), ids)
            done += len(linked)
    return done


def _write_ids(path: Path, ids: np.ndarray) -> None:
    temporary = path.with_suffix(".erase.tmp")
    with open(temporary, "wb") as out:
        np.save(out, ids)
    _sync_file(temporary)
    os.replace(temporary, path)


def _still_linked(hnsw, positions: np.ndarray) -> np.ndarray:
    """Which of these positions still have links of their own, or are linked to."""
    if not len(positions):
        return positions
    neighbors = faiss.rev_swig_ptr(hnsw.neighbors.data(), hnsw.neighbors.size())
    offsets = faiss.vector_to_array(hnsw.offsets).astype(np.int64)
    own = [p for p in positions if (neighbors[offsets[p] : offsets[p + 1]] >= 0).any()]
    linked_to = np.unique(neighbors[np.isin(neighbors, positions, kind="table")])
    return np.union1d(np.asarray(own, dtype=np.int64), linked_to.astype(np.int64))


def _sync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _projection_of(path: Path) -> int:
    """The projection's pk, from a graph file's name (`_path`)."""
    return int(path.name.split("-")[1])


def _record_vectors(projection: int, ids: np.ndarray):
    """The unit projections of the templates at some positions, read from the record (zero where none is held)."""

    def vectors(positions: np.ndarray) -> np.ndarray:
        wanted = ids[positions]
        out = np.zeros((len(positions), _dimensions(projection)), dtype=np.float32)
        if not (wanted >= 0).any():
            return out
        found, rows = _read_rows(projection, only=wanted[wanted >= 0])
        at = np.searchsorted(found, wanted).clip(max=max(len(found) - 1, 0))
        held = (found[at] == wanted) if len(found) else np.zeros(len(wanted), dtype=bool)
        out[held] = _unit(rows[at[held]])
        return out

    return vectors


def _unlink(hnsw, erased: np.ndarray, dead: np.ndarray, vectors) -> None:
    """Take positions out of an HNSW graph's links in place (FAISS has no way: HNSW does not support remove_ids).

    Each erased position's own lists, at every level, are emptied. Every list holding a link to one loses it (the rest
    move up: FAISS stops reading a list at its first -1), and its free places are given to the nearest of the erased
    positions' own neighbours at that level that it lacks, by cosine on `vectors(positions)` (unit rows), so the
    positions the erased one joined stay joined. If the entry point is erased, the live position highest in the graph
    becomes it. `dead` marks every position no longer held (the erased among them): none is ever linked anew.
    """
    erased = np.unique(np.asarray(erased, dtype=np.int64))
    if not len(erased):
        return
    neighbors = faiss.rev_swig_ptr(hnsw.neighbors.data(), hnsw.neighbors.size())
    offsets = faiss.vector_to_array(hnsw.offsets).astype(np.int64)
    levels = faiss.vector_to_array(hnsw.levels)  # a position's number of levels (1: the base level only)
    cum = faiss.vector_to_array(hnsw.cum_nneighbor_per_level).astype(np.int64)

    def span(position: int, level: int) -> slice:
        return slice(offsets[position] + cum[level], offsets[position] + cum[level + 1])

    # What the erased positions joined, level by level: the candidates to take their place in their neighbours' lists.
    joined: dict[int, set[int]] = {}
    for position in erased:
        for level in range(levels[position]):
            links = neighbors[span(position, level)]
            joined.setdefault(level, set()).update(int(n) for n in links[links >= 0] if not dead[n])
            links[:] = -1
    # Every list still linking to an erased position: where each such link lies, then whose list and which level.
    slots = np.flatnonzero(np.isin(neighbors, erased, kind="table"))
    owners = np.searchsorted(offsets, slots, side="right") - 1
    at_levels = np.searchsorted(cum, slots - offsets[owners], side="right") - 1
    lists = sorted(set(zip(owners.tolist(), at_levels.tolist(), strict=True)))
    # The vectors the repair compares, read once: every list's owner and every candidate.
    wanted = np.unique(np.asarray([o for o, _ in lists] + [n for c in joined.values() for n in c], dtype=np.int64))
    near = vectors(wanted) if len(wanted) else None
    for owner, level in lists:
        links = neighbors[span(owner, level)]
        if dead[owner]:  # a position deleted earlier whose links were left (a graph from before they were taken out)
            links[:] = -1
            continue
        held = links[links >= 0]
        kept = held[~dead[held]].tolist()
        candidates = np.asarray(sorted(joined.get(level, set()) - set(kept) - {owner}), dtype=np.int64)
        free = len(links) - len(kept)
        if len(candidates) and free:
            scores = near[np.searchsorted(wanted, candidates)] @ near[np.searchsorted(wanted, owner)]
            kept += candidates[np.argsort(-scores, kind="stable")[:free]].tolist()
        links[:] = -1
        links[: len(kept)] = kept
    if hnsw.entry_point >= 0 and dead[hnsw.entry_point]:
        live = np.flatnonzero(~dead)
        if len(live):  # with none left, the old entry point leads nowhere and every search finds nothing
            top = live[np.argmax(levels[live])]
            hnsw.entry_point, hnsw.max_level = int(top), int(levels[top]) - 1


def remove_files_except(pk: int, sha256: str) -> None:
    """Delete the files of every other projection (run once a new projection has committed)."""
    keep = _path((pk, sha256)).name
    for path in Path(settings.CUSTODY_GRAPH_DIR).glob("*.hnsw"):
        if path.name != keep:
            path.with_suffix(".ids.npy").unlink(missing_ok=True)
            path.unlink(missing_ok=True)


def _load_or_build(key: tuple[int, str]) -> Graph:
    with _file_lock():  # another process building the same graph finishes first, and this one loads its files
        graph = _load(key)
        if graph is None:
            logger.warning("No custody graph on disk for projection %s: building it from the record", key[0])
            graph = _build(key)
            _save(graph)
    return graph


def _load(key: tuple[int, str]) -> Graph | None:
    path = _path(key)
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_SKIP_STORAGE)
        ids = np.load(path.with_suffix(".ids.npy"))
    except (OSError, RuntimeError, ValueError) as exc:
        if path.exists():
            logger.warning("Custody graph %s unreadable (%s): building it again", path, exc)
        return None
    if not isinstance(index, faiss.IndexHNSWSQ) or index.ntotal != len(ids) or index.d != _dimensions(key[0]):
        logger.warning("Custody graph %s does not fit its projection: building it again", path)
        return None
    record_ids, vectors = _read_rows(key[0])
    at = np.searchsorted(record_ids, ids).clip(max=max(len(record_ids) - 1, 0))
    kept = (record_ids[at] == ids) if len(record_ids) else np.zeros(len(ids), dtype=bool)
    aligned = np.zeros((len(ids), index.d), dtype=np.float32)
    aligned[kept] = _unit(vectors[at[kept]])
    storage = _storage(index.d, aligned[kept])
    storage.add(aligned)  # a template deleted since the files were written: the zero vector's code
    index.storage = storage
    index.own_fields = False
    ids = np.where(kept, ids, -1).astype(np.int64)
    # Templates erased since the files were written, whose files have not been cleared yet: out of the links too.
    linked = _still_linked(index.hnsw, np.flatnonzero(~kept))
    if len(linked):
        _unlink(index.hnsw, linked, ~kept, lambda positions: aligned[positions])
    return Graph(key, index, storage, ids, _live(ids))


def _build(key: tuple[int, str]) -> Graph:
    ids, vectors = _read_rows(key[0])
    vectors = _unit(vectors)
    index = faiss.IndexHNSWSQ(vectors.shape[1], faiss.ScalarQuantizer.QT_8bit, LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = BUILD_WIDTH
    index.train(vectors if len(vectors) else np.zeros((1, index.d), dtype=np.float32))
    index.add(vectors)
    return Graph(key, index, faiss.downcast_index(index.storage), ids)


def _save(graph: Graph) -> None:
    """Write a freshly built graph's links and ids, not its vectors, each to a temporary name first: a reader sees
    whole files."""
    path = _path(graph.projection)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".ids.tmp"), "wb") as out:
        np.save(out, graph.ids)
    os.replace(path.with_suffix(".ids.tmp"), path.with_suffix(".ids.npy"))
    faiss.write_index(graph.index, str(path.with_suffix(".tmp")), faiss.IO_FLAG_SKIP_STORAGE)
    os.replace(path.with_suffix(".tmp"), path)


def _path(key: tuple[int, str]) -> Path:
    return Path(settings.CUSTODY_GRAPH_DIR) / f"projection-{key[0]}-{key[1][:16]}.hnsw"


@contextlib.contextmanager
def _file_lock():
    """One process at a time loads or builds a graph on this machine (`flock` on the directory's lock file)."""
    directory = Path(settings.CUSTODY_GRAPH_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def _dimensions(pk: int) -> int:
    from .models import CustodyProjection

    dimensions = CustodyProjection.objects.filter(pk=pk).values_list("dimensions", flat=True).first()
    if dimensions is None:
        raise Superseded(pk)
    return dimensions


def _copy_out(query: psycopg.sql.Composable) -> bytes:
    """A query's rows in PostgreSQL's binary COPY format, on the Django connection (so in its transaction)."""
    connection.ensure_connection()
    statement = psycopg.sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(query)
    with connection.wrap_database_errors, connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        return b"".join(bytes(block) for block in copy)


def _read_ids(projection: int) -> np.ndarray:
    """The ids of every template projected by `projection`, in no order: one bytea of 8-byte integers, 137 ms at a
    million rows where the same ids as rows took 750 ms (COPY's cost is per row). In the same statement, so the same
    snapshot: whether the projection is still in force (if not, its rows are gone, not its templates)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM matching_custodyprojection WHERE id = %s), (SELECT "
            "string_agg(int8send(template_id), ''::bytea) FROM matching_custodyreduced WHERE projection_id = %s)",
            [projection, projection],
        )
        in_force, packed = cursor.fetchone()
    if not in_force:
        raise Superseded(projection)
    return np.frombuffer(bytes(packed or b""), dtype=">i8").astype(np.int64)


def _read_rows(projection: int, *, only: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Template ids (sorted) and their projections (float32), read in the binary format as fixed-size rows."""
    dimensions = _dimensions(projection)
    row = np.dtype(
        [
            ("fields", ">i2"),
            ("id_length", ">i4"),
            ("id", ">i8"),
            ("vector_length", ">i4"),
            ("dimensions", ">i2"),
            ("unused", ">i2"),
            ("vector", ">f2", (dimensions,)),
        ]
    )
    where = psycopg.sql.SQL("projection_id = {}").format(projection)
    if only is not None:
        where = psycopg.sql.SQL("{} AND template_id = ANY({})").format(where, [int(i) for i in only])
    query = "SELECT template_id, vector FROM matching_custodyreduced WHERE {} ORDER BY template_id"
    data = _copy_out(psycopg.sql.SQL(query).format(where))
    rows = np.frombuffer(
        data, dtype=row, offset=_COPY_HEADER, count=(len(data) - _COPY_HEADER - _COPY_TRAILER) // row.itemsize
    )
    return rows["id"].astype(np.int64), rows["vector"].astype(np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (inner product is then cosine); a zero row stays zero."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _storage(dimensions: int, sample: np.ndarray) -> faiss.IndexScalarQuantizer:
    """An empty store of 8-bit codes (cosine as inner product on unit vectors), its range trained on `sample`."""
    storage = faiss.IndexScalarQuantizer(dimensions, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    storage.train(sample if len(sample) else np.zeros((1, dimensions), dtype=np.float32))
    return storage


def _zero_code(storage: faiss.IndexScalarQuantizer) -> np.ndarray:
    """The code of the zero vector: what a deleted template's code becomes (the code 0 would decode to each
    dimension's minimum, a vector that outscores real matches)."""
    return storage.sa_encode(np.zeros((1, storage.d), dtype=np.float32))[0]


def _live(ids: np.ndarray) -> np.ndarray | None:
    """FAISS's selector bitmap of the positions still held (bit i, little-endian within each byte, set where
    position i's template exists), or None while every position is held and no selector is needed."""
    held = ids >= 0
    return None if held.all() else np.packbits(held, bitorder="little")


def _codes(storage: faiss.IndexScalarQuantizer) -> np.ndarray:
    """The store's codes, one row per position, as a writable array over its own memory."""
    size = storage.ntotal * storage.code_size
    return faiss.rev_swig_ptr(storage.codes.data(), size).reshape(storage.ntotal, storage.code_size)
