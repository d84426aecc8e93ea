"""Taking positions out of an HNSW graph's links (custody_graph._unlink), on a graph of FAISS's own: nothing links to
or from them after, the entry point moves if it was one of them, and searches keep their recall among the rest."""

import faiss
import numpy as np

from apps.matching import custody_graph

DIMENSIONS, COUNT = 32, 3_000


def _graph(rng):
    vectors = custody_graph._unit(rng.standard_normal((COUNT, DIMENSIONS)).astype(np.float32))
    index = faiss.IndexHNSWFlat(DIMENSIONS, 8, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 64
    index.add(vectors)
    return index, vectors


def _links(index, positions) -> tuple[int, int]:
    neighbors = faiss.vector_to_array(index.hnsw.neighbors)
    offsets = faiss.vector_to_array(index.hnsw.offsets).astype(np.int64)
    own = sum(int((neighbors[offsets[p] : offsets[p + 1]] >= 0).sum()) for p in positions)
    return own, int(np.isin(neighbors, positions).sum())


def _recall(index, vectors, dead, queries) -> float:
    live = np.flatnonzero(~dead)
    exact = np.argsort(-(queries @ vectors[live].T), axis=1)[:, :10]
    bitmap = np.packbits(~dead, bitorder="little")
    params = faiss.SearchParametersHNSW(efSearch=64, sel=faiss.IDSelectorBitmap(COUNT, faiss.swig_ptr(bitmap)))
    _, found = index.search(queries, 10, params=params)
    return np.mean([len(set(live[e]) & set(f)) / 10 for e, f in zip(exact, found, strict=True)])


def test_unlinked_positions_are_in_no_list_and_the_rest_are_still_found():
    rng = np.random.default_rng(26)
    index, vectors = _graph(rng)
    queries = custody_graph._unit(rng.standard_normal((200, DIMENSIONS)).astype(np.float32))
    entry = index.hnsw.entry_point
    erased = np.unique(np.concatenate([[entry], rng.choice(COUNT, 150, replace=False)]))
    dead = np.zeros(COUNT, dtype=bool)
    dead[erased] = True
    before = _recall(index, vectors, dead, queries)  # the erased hidden by the selector only, links kept
    assert _links(index, erased)[1] > 0

    custody_graph._unlink(index.hnsw, erased, dead, lambda positions: vectors[positions])

    assert _links(index, erased) == (0, 0)
    assert not dead[index.hnsw.entry_point]
    assert index.hnsw.max_level == faiss.vector_to_array(index.hnsw.levels)[index.hnsw.entry_point] - 1
    after = _recall(index, vectors, dead, queries)
    assert after >= before - 0.02, (before, after)
    custody_graph._unlink(index.hnsw, erased, dead, lambda positions: vectors[positions])  # again: nothing changes
    assert _links(index, erased) == (0, 0) and _recall(index, vectors, dead, queries) == after


def test_the_lists_that_lost_a_link_are_filled_again_from_the_erased_positions_neighbours():
    """The repair is what keeps the graph connected: a base-level list that was full before stays full, nearly always
    (it is left short only when the erased positions had no neighbour it lacked)."""
    rng = np.random.default_rng(27)
    index, vectors = _graph(rng)
    erased = rng.choice(COUNT, 300, replace=False)
    dead = np.zeros(COUNT, dtype=bool)
    dead[erased] = True
    neighbors = faiss.vector_to_array(index.hnsw.neighbors)
    offsets = faiss.vector_to_array(index.hnsw.offsets).astype(np.int64)
    cum = faiss.vector_to_array(index.hnsw.cum_nneighbor_per_level).astype(np.int64)

    def base_links(p):
        return int((neighbors[offsets[p] : offsets[p] + cum[1]] >= 0).sum())

    held = [p for p in np.flatnonzero(~dead) if base_links(p)]
    full_before = sum(base_links(p) == cum[1] for p in held)

    custody_graph._unlink(index.hnsw, erased, dead, lambda positions: vectors[positions])

    neighbors = faiss.vector_to_array(index.hnsw.neighbors)
    full_after = sum(base_links(p) == cum[1] for p in held)
    assert full_after >= 0.9 * full_before, (full_before, full_after)
