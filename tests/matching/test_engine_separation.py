"""Each engine's templates are its own: a face is compared only with templates the engine in use made, and a
retrospective search runs only on an approved engine, as live capture does."""

import numpy as np
import pytest

from apps.audit.models import Event
from apps.matching.choices import ProbeState
from apps.matching.engine import get_engine
from apps.matching.list_index import as_list
from apps.matching.models import Probe, WatchlistTemplate
from apps.matching.services import enrolment, retrospective
from tests.matching_fixtures import astronaut_subject

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _foreign_template(template: WatchlistTemplate, dimensions: int) -> WatchlistTemplate:
    """A template of the same entry in the same version, as another engine made it."""
    rng = np.random.default_rng(3)
    vector = rng.standard_normal(dimensions)
    return WatchlistTemplate.objects.create(
        watchlist_id=template.watchlist_id,
        approved_hash=template.approved_hash,
        entry_id=template.entry_id,
        subject_id=template.subject_id,
        embedding=(vector / np.linalg.norm(vector)).tolist(),
        engine="another-engine/v1",
        weights_sha256="e" * 64,
    )


@pytest.mark.parametrize("size", ["the same size", "another size"])
def test_a_version_is_read_with_the_engine_in_uses_templates_only(live, size):
    """Another engine's template of the version, of the same size or another, is never read for matching."""
    dimensions = get_engine().dimensions + (0 if size == "the same size" else 128)
    ours = WatchlistTemplate.objects.get(watchlist_id=live.watchlist_id)
    theirs = _foreign_template(ours, dimensions)
    enrolment.templates.cache_clear()
    known = enrolment.templates(live.watchlist_id, live.authorised_watchlist_hash)
    assert len(known) == 1 and known.dimensions == get_engine().dimensions
    assert WatchlistTemplate.objects.get(pk=theirs.pk).dimensions == dimensions  # kept at its own size


def test_templates_keep_their_size_beside_them(live):
    template = WatchlistTemplate.objects.get(watchlist_id=live.watchlist_id)
    assert template.dimensions == get_engine().dimensions == len(as_list(template.embedding))


def test_a_retrospective_search_on_an_unapproved_engine_refuses_each_still_and_says_why(actors, astronaut):
    _, image = astronaut_subject(actors.compiler, astronaut, pnc_id="56/000009K")
    assert retrospective.enrol_custody_image(image.pk)
    request = retrospective.submit(actors.officer, [astronaut], incident_reference="CAD 9/7DEC", crime_type="Theft")
    retrospective.run_search(request.pk)
    probe = Probe.objects.get(request=request)
    assert probe.state == ProbeState.REFUSED and probe.candidates == []
    assert "is not approved" in probe.refusal and get_engine().name in probe.refusal
    event = Event.objects.filter(action="search.probe_refused").get()
    assert event.data["weights_sha256"] == get_engine().weights_sha256 and "not approved" in event.reason


def test_a_retrospective_search_on_an_approved_engine_finds_the_face(actors, astronaut, engine_approved):
    subject, image = astronaut_subject(actors.compiler, astronaut, pnc_id="56/000009K")
    assert retrospective.enrol_custody_image(image.pk)
    request = retrospective.submit(actors.officer, [astronaut], incident_reference="CAD 9/7DEC", crime_type="Theft")
    retrospective.run_search(request.pk)
    probe = Probe.objects.get(request=request)
    assert probe.state == ProbeState.SEARCHED and probe.candidates[0]["subject"] == subject.pk


def test_every_page_says_which_engine_runs(client, settings):
    settings.FACE_ENGINE, settings.FACE_UNCALIBRATED = "dlib", False
    page = client.get("/public/").content.decode()
    assert 'id="engine-banner"' in page and "dlib" in page and "uncalibrated-banner" not in page
    settings.FACE_ENGINE, settings.FACE_UNCALIBRATED = "facenet", True
    page = client.get("/public/").content.decode()
    assert "uncalibrated-banner" in page and 'id="engine-banner"' not in page
