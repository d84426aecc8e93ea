"""A person whose processing is restricted (DPA 2018 s.47(2), granted at the requests desk) is left out of matching
while the restriction stands: a live face of theirs leaves a receipt, not an alert, and a retrospective still never
names them as a candidate. Lifted, they match again."""

import pytest

from apps.matching.choices import ProbeState
from apps.matching.models import Alert, DeletionReceipt, Probe
from apps.matching.services import live_capture, retrospective
from apps.watchlists.models import Subject
from apps.watchlists.services import restriction
from govern.errors import Conflict
from govern.roles import Role
from tests.matching_fixtures import astronaut_subject

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _restrict(actors, subject):
    return restriction.restrict(
        actors.privacy, subject, grounds="The person contests the accuracy of the record", request_reference="DSR-1"
    )


def test_a_restricted_person_on_a_list_in_force_raises_no_alert_until_lifted(actors, live, vans, astronaut):
    listed = Subject.objects.get(pk=live.watchlist.entries.get().subject_id)
    assert live_capture.capture_frame(vans[0], astronaut).alerts  # listed and matching before the restriction
    standing = _restrict(actors, listed)
    result = live_capture.capture_frame(vans[0], astronaut)
    assert (result.alerts, result.receipts) == ([], 1)
    assert Alert.objects.count() == 1 and DeletionReceipt.objects.count() == 1
    restriction.lift(actors.privacy, standing, reason="Accuracy checked against the custody record")
    assert live_capture.capture_frame(vans[0], astronaut).alerts


def test_a_restricted_person_is_never_a_retrospective_candidate(actors, astronaut, engine_approved):
    subject, image = astronaut_subject(actors.compiler, astronaut, pnc_id="56/000002D")
    assert retrospective.enrol_custody_image(image.pk)
    _restrict(actors, subject)
    request = retrospective.submit(actors.officer, [astronaut], incident_reference="CAD 7/7DEC", crime_type="Robbery")
    retrospective.run_search(request.pk)
    probe = Probe.objects.get(request=request)
    assert probe.state == ProbeState.SEARCHED and probe.candidates == []


def test_a_candidate_restricted_after_the_search_cannot_be_chosen_or_confirmed(
    make_user, actors, astronaut, engine_approved
):
    investigator = make_user("investigator", Role.OFFICER)
    subject, image = astronaut_subject(actors.compiler, astronaut, pnc_id="56/000002D")
    assert retrospective.enrol_custody_image(image.pk)
    request = retrospective.submit(actors.officer, [astronaut], incident_reference="CAD 8/7DEC", crime_type="Robbery")
    retrospective.run_search(request.pk)
    probe = Probe.objects.get(request=request)
    assert [candidate["subject"] for candidate in probe.candidates] == [subject.pk]
    standing = _restrict(actors, subject)
    with pytest.raises(Conflict, match="restricted"):
        retrospective.choose(actors.officer, probe, subject_id=subject.pk, note="Same scar on the left cheek")
    restriction.lift(actors.privacy, standing, reason="Accuracy checked against the custody record")
    retrospective.choose(actors.officer, probe, subject_id=subject.pk, note="Same scar on the left cheek")
    _restrict(actors, subject)
    corroboration = "Phone cell-site data and the bus CCTV put her at the scene."
    with pytest.raises(Conflict, match="restricted"):
        retrospective.confirm(investigator, probe, corroboration=corroboration)
    assert Probe.objects.get(pk=probe.pk).state == ProbeState.SELECTED


def test_an_alert_names_the_best_of_the_others_when_a_restricted_person_is_among_them(settings):
    """The restricted are left out of a face's best templates, and the others fill the places they leave."""
    import numpy as np

    from apps.matching.list_index import ListIndex
    from apps.matching.services.live_capture import _unrestricted

    settings.FACE_TOP_K = 2
    halves = np.eye(4, 8, dtype=np.float16)
    halves[1] = halves[2] = halves[3] = halves[0] * 0.9 + np.eye(1, 8, 7, dtype=np.float16)[0] * 0.1
    known = ListIndex(halves, [(10, 100), (20, 200), (30, 300), (40, 400)])
    face = np.eye(1, 8, dtype=np.float32)
    scores, positions = known.nearest(face, 2)
    _, kept_positions, bests = _unrestricted(known, face, scores, positions, 0.5, {100})
    assert [known.owners[position][1] for position in kept_positions[0]] == [200, 300]
    assert bests[0] == pytest.approx(0.9, abs=1e-3)
