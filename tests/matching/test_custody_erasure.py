"""An erased subject is never a custody search's candidate again: not from this process's graph, not from another
worker's graph loaded before the erasure, not from the graph files a worker loads later (issue 26, item 2)."""

import shutil

import faiss
import numpy as np
import pytest

from apps.audit.models import Event
from apps.matching import custody_graph, tasks
from apps.matching.engine import get_engine
from apps.matching.models import CustodyReduced, CustodyTemplate
from apps.matching.services import custody_erasure, custody_index, retrospective
from apps.outbox.models import Message
from apps.watchlists.services import erasure
from tests.matching.test_custody_index import facenet, facenet_engine, gallery, graph_dir  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
REASON = "Erasure request DSR-7 granted: released without charge"


def _subjects(found) -> set[int]:
    return {candidate["subject"] for candidate in found}


def test_searched_after_erasure_the_subject_is_never_a_candidate_even_from_a_graph_loaded_before(
    actors,
    gallery,  # noqa: F811
    graph_dir,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    _, images, probes = gallery
    custody_index.fit(sample=1_000)
    engine = get_engine()
    stale = custody_index.searcher()  # this process's graph, and a search set up before the erasure
    other = custody_graph._load_or_build(stale.graph.projection)  # another worker's, loaded from the files before
    found = retrospective._candidates(probes[0], stale, engine)
    erased = found[0]["subject"]
    templates = set(CustodyTemplate.objects.filter(subject_id=erased).values_list("pk", flat=True))
    assert len(templates) == 4 and templates <= set(other.ids.tolist())

    with django_capture_on_commit_callbacks() as after_commit:
        done = erasure.delete_subject(actors.privacy, erased, reason=REASON)
    # What the commit runs for the graph (the VACUUM the outbox also sends after it cannot run inside the test's
    # transaction: tests/matching/test_deletion_evidence.py runs that one).
    for callback in after_commit:
        if getattr(callback, "func", None) is custody_graph.forget_in_files:
            callback()

    assert not CustodyTemplate.objects.filter(pk__in=templates).exists()
    assert not CustodyReduced.objects.filter(template_id__in=templates).exists()
    # A search set up before the erasure, its graph not yet synced: the exact re-rank reads the templates table.
    assert erased not in _subjects(retrospective._candidates(probes[0], stale, engine))
    # The other worker's graph drops them at its next sync, the projections' codes overwritten in its memory.
    assert other.sync() == (0, 4)
    at = np.flatnonzero(np.isin(other.ids, list(templates)))
    assert len(at) == 0 and (other.ids == -1).sum() == 4
    zero = custody_graph._zero_code(other.storage)
    assert (custody_graph._codes(other.storage)[other.ids == -1] == zero).all()
    walked = other.search(custody_index.project(probes[0][None, :], stale.matrix)[0], 200, 700)
    assert not set(walked.tolist()) & templates
    # This process's next search syncs its graph first, as every search request does.
    search = custody_index.searcher()
    assert search.graph.size == len(images) - 4
    assert erased not in _subjects(retrospective._candidates(probes[0], search, engine))
    # The files no longer name the erased templates, and a worker loading them later never holds them.
    (ids_file,) = graph_dir.glob("*.ids.npy")
    assert not set(np.load(ids_file).tolist()) & templates and (np.load(ids_file) == -1).sum() == 4
    custody_graph.forget()
    fresh = custody_index.searcher()
    assert not set(fresh.graph.ids.tolist()) & templates
    assert erased not in _subjects(retrospective._candidates(probes[0], fresh, engine))
    receipt = Event.objects.get(action="custody_template.erase")
    assert sorted(receipt.data["templates"]) == sorted(templates) and done.images == 4


def _neighbors(index) -> np.ndarray:
    return faiss.vector_to_array(index.hnsw.neighbors)


def _links_left(index, positions: np.ndarray) -> tuple[int, int]:
    """How many links the erased positions still have of their own, and how many other positions' lists name them."""
    neighbors = _neighbors(index)
    offsets = faiss.vector_to_array(index.hnsw.offsets).astype(np.int64)
    own = sum(int((neighbors[offsets[p] : offsets[p + 1]] >= 0).sum()) for p in positions)
    return own, int(np.isin(neighbors, positions).sum())


def test_erasure_takes_the_template_out_of_the_graph_s_links_on_disk_and_in_every_worker_s_memory(
    actors,
    gallery,  # noqa: F811
    graph_dir,  # noqa: F811
    django_capture_on_commit_callbacks,
    settings,
):
    probes = gallery[2]
    custody_index.fit(sample=1_000)
    engine = get_engine()
    before = custody_index.searcher()
    other = custody_graph._load_or_build(before.graph.projection)  # another worker's graph, loaded before
    found = retrospective._candidates(probes[0], before, engine)
    erased = found[0]["subject"]
    templates = set(CustodyTemplate.objects.filter(subject_id=erased).values_list("pk", flat=True))
    positions = np.flatnonzero(np.isin(other.ids, list(templates)))
    codes = custody_graph._codes(other.storage)[positions].copy()  # the erased projections, as 8-bit codes
    (graph_file,) = graph_dir.glob("*.hnsw")
    assert _links_left(faiss.read_index(str(graph_file), faiss.IO_FLAG_SKIP_STORAGE), positions)[1] > 0
    stale_files = graph_dir.parent / "stale-graph"  # the files as a worker loading them before they are cleared sees
    shutil.copytree(graph_dir, stale_files)
    tops = {n: _subjects(retrospective._candidates(p, before, engine)[:1]) for n, p in enumerate(probes[1:], 1)}

    with django_capture_on_commit_callbacks() as after_commit:
        erasure.delete_subject(actors.privacy, erased, reason=REASON)
    for callback in after_commit:
        if getattr(callback, "func", None) is custody_graph.forget_in_files:
            callback()
    # The links go in the outbox's task, queued with the erasure, where the searches run (it rewrites the whole graph).
    assert Message.objects.filter(task=custody_erasure.GRAPH_TASK, sent_at=None).count() == 1
    assert tasks.unlink_erased_from_graph() == 4
    assert tasks.unlink_erased_from_graph() == 0  # a redelivery finds nothing left to do

    # On disk: no link from or to an erased position, and no byte of their codes (the files never held the codes).
    on_disk = faiss.read_index(str(graph_file), faiss.IO_FLAG_SKIP_STORAGE)
    assert _links_left(on_disk, positions) == (0, 0)
    written = graph_file.read_bytes() + graph_file.with_suffix(".ids.npy").read_bytes()
    assert not any(code.tobytes() in written for code in codes)
    assert not set(np.load(graph_file.with_suffix(".ids.npy")).tolist()) & templates
    # In another worker's memory at its next sync: the same, and its codes overwritten.
    assert other.sync() == (0, 4)
    assert _links_left(other.index, positions) == (0, 0)
    assert not any((custody_graph._codes(other.storage) == code).all(axis=1).any() for code in codes)
    # A worker that loaded the files before they were cleared takes them out of its links at load.
    settings.CUSTODY_GRAPH_DIR = stale_files
    late = custody_graph._load(other.projection)
    settings.CUSTODY_GRAPH_DIR = graph_dir
    assert _links_left(late.index, positions) == (0, 0) and not set(late.ids.tolist()) & templates
    # Searches never return the erased, and still find everyone else as before.
    for graph in (other, late):
        walked = graph.search(custody_index.project(probes[0][None, :], before.matrix)[0], 200, 700)
        assert not set(walked.tolist()) & templates
    custody_graph.forget()
    fresh = custody_index.searcher()
    assert _links_left(fresh.graph.index, positions) == (0, 0)
    assert erased not in _subjects(retrospective._candidates(probes[0], fresh, engine))
    kept = [n for n, top in tops.items() if erased not in top]
    same = sum(_subjects(retrospective._candidates(probes[n], fresh, engine)[:1]) == tops[n] for n in kept)
    assert same >= 0.95 * len(kept), (same, len(kept))
