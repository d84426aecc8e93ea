"""An erased subject is never a custody search's candidate again: not from this process's graph, not from another
worker's graph loaded before the erasure, not from the graph files a worker loads later (issue 26, item 2)."""

import numpy as np
import pytest

from apps.audit.models import Event
from apps.matching import custody_graph
from apps.matching.engine import get_engine
from apps.matching.models import CustodyReduced, CustodyTemplate
from apps.matching.services import custody_index, retrospective
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
