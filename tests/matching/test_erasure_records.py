"""What an erasure does to the records matching keeps of the person: their place in candidate lists, the searches
that chose them and the alerts on them (issue 26, item 2)."""

import pytest
from django.core.exceptions import ValidationError

from apps.audit import services as audit
from apps.audit.models import Event
from apps.deployments.models import Deployment
from apps.matching import figures
from apps.matching.choices import ProbeState
from apps.matching.models import Alert, Probe, SearchRequest
from apps.matching.services import alert_handling, live_capture, retrospective
from apps.oversight import equality
from apps.watchlists.models import Subject
from apps.watchlists.services import erasure
from govern.errors import Conflict

pytestmark = pytest.mark.django_db
REASON = "Erasure request DSR-9 granted: never charged"
NOTE = "Same scar on the left cheek"


def _search(actors, reference="RFR-9") -> SearchRequest:
    return SearchRequest.objects.create(
        reference=reference, submitted_by=actors.officer, incident_reference="CAD 9", crime_type="Theft",
        state="ready",
    )  # fmt: skip


def _candidate(subject, image, score=0.8) -> dict:
    return {"subject": subject.pk, "image": image.pk, "score": score}


def _struck() -> dict[str, int]:
    """The candidate lists the erasure's receipts say it struck (by image, then by subject)."""
    receipts = Event.objects.filter(action__in=["custody_template.erase", "templates.erase"])
    return {kind: sum(event.data["candidate_lists"][kind] for event in receipts) for kind in ("probes", "alerts")}


def _searched(search, *candidates) -> Probe:
    return Probe.objects.create(
        request=search, position=search.probes.count(), sha256="0" * 64, state=ProbeState.SEARCHED,
        candidates=list(candidates),
    )  # fmt: skip


def test_an_erased_subject_leaves_every_candidate_list_and_cannot_be_chosen(actors, gallery, api):
    adult, adult_image = gallery.adult
    other, other_image = gallery.other
    probe = _searched(_search(actors), _candidate(adult, adult_image), _candidate(other, other_image, 0.7))

    erasure.delete_subject(actors.privacy, adult.pk, reason=REASON)

    probe.refresh_from_db()
    assert probe.candidates == [_candidate(other, other_image, 0.7)]
    assert _struck() == {"probes": 1, "alerts": 0}
    with pytest.raises(ValidationError):
        retrospective.choose(actors.officer, probe, subject_id=adult.pk, note=NOTE)
    answer = api(actors.officer).post(
        f"/api/matching/probes/{probe.pk}/choose/", {"subject": adult.pk, "note": NOTE}, format="json"
    )
    assert answer.status_code == 400
    probe.refresh_from_db()
    assert probe.state == ProbeState.SEARCHED and probe.chosen_subject_id is None


def test_an_erased_image_leaves_the_candidate_lists_and_its_subject_stays(actors, gallery):
    adult, adult_image = gallery.adult
    other, other_image = gallery.other
    probe = _searched(_search(actors), _candidate(adult, adult_image), _candidate(other, other_image, 0.7))
    erasure.delete_custody_image(actors.privacy, adult_image.pk, reason=REASON)
    probe.refresh_from_db()
    assert probe.candidates == [_candidate(other, other_image, 0.7)]
    assert Event.objects.get(action="custody_template.erase").data["candidate_lists"] == {"probes": 1, "alerts": 0}


def test_choosing_a_candidate_erased_before_lists_were_struck_is_a_conflict_not_a_server_error(actors, gallery, api):
    adult, adult_image = gallery.adult
    erased = adult.pk
    erasure.delete_subject(actors.privacy, erased, reason=REASON)
    gone = {"subject": erased, "image": adult_image.pk, "score": 0.8}
    probe = _searched(_search(actors), gone)  # a list written before erasures struck candidates
    with pytest.raises(Conflict, match="erased"):
        retrospective.choose(actors.officer, probe, subject_id=erased, note=NOTE)
    answer = api(actors.officer).post(
        f"/api/matching/probes/{probe.pk}/choose/", {"subject": erased, "note": NOTE}, format="json"
    )
    assert answer.status_code == 409 and "erased" in str(answer.json())
    probe.refresh_from_db()
    assert probe.state == ProbeState.SEARCHED and probe.chosen_subject_id is None


def test_an_erased_subject_leaves_an_alerts_candidate_list(actors, gallery, live, vans, astronaut):
    adult, _ = gallery.adult
    alert = Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0])
    second = {"subject": adult.pk, "entry": None, "score": 0.61}
    Alert.objects.filter(pk=alert.pk).update(candidates=[*alert.candidates, second])

    erasure.delete_subject(actors.privacy, adult.pk, reason=REASON)

    alert.refresh_from_db()
    assert adult.pk not in {candidate["subject"] for candidate in alert.candidates} and len(alert.candidates) == 1
    assert _struck() == {"probes": 0, "alerts": 1}


# --- Alerts and identifications: kept as evidence only while they must name the person ------------------------------


def _figures(deployment):
    (tally,) = figures.by_deployment(Deployment.objects.filter(pk=deployment.pk))
    return (tally.faces, tally.alerts, tally.false_alerts, tally.receipts), alert_handling.reconciliation(deployment)


def _judged_false(actors, vans, astronaut) -> Alert:
    alert = Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0])
    return alert_handling.adjudicate(actors.officer, alert, match=False, reason="Different person: older, taller")


def test_a_judged_false_alert_no_longer_blocks_the_erasure_and_the_figures_stand(actors, live, vans, astronaut):
    alert = _judged_false(actors, vans, astronaut)
    subject_id = alert.subject_id
    before, equal_before = _figures(live), equality.versions()

    erasure.delete_subject(actors.privacy, subject_id, reason=REASON)

    alert.refresh_from_db()
    assert alert.subject_id is None and alert.found_false and alert.candidates == []
    assert not Subject.objects.filter(pk=subject_id).exists()
    assert _figures(live) == before and equality.versions() == equal_before  # they count alerts, not people
    receipt = Event.objects.get(action="templates.erase").data
    assert receipt["alerts_detached"] == [alert.pk] and receipt["detached_from"] == audit.commitment(subject_id)
    assert str(subject_id) not in str(receipt["detached_from"])


def test_an_alert_under_evidential_hold_or_not_yet_judged_still_blocks_the_erasure(
    actors, approvers, live, vans, astronaut
):
    held = _judged_false(actors, vans, astronaut)
    alert_handling.place_hold(approvers.superintendent, held, reason="Complaint received: keep as evidence")
    Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0])  # not yet judged
    with pytest.raises(Conflict, match=r"1 alert\(s\) under evidential hold, 1 alert\(s\) not yet adjudicated"):
        erasure.delete_subject(actors.privacy, held.subject_id, reason=REASON)
    held.refresh_from_db()
    assert held.subject_id is not None and Subject.objects.filter(pk=held.subject_id).exists()


def test_an_identification_in_a_closed_search_is_detached_and_one_in_an_open_search_blocks(actors, gallery):
    adult, adult_image = gallery.adult
    search = _search(actors)
    chosen = _searched(search, _candidate(adult, adult_image))
    retrospective.choose(actors.officer, chosen, subject_id=adult.pk, note=NOTE)
    with pytest.raises(Conflict, match="search still open"):
        erasure.delete_subject(actors.privacy, adult.pk, reason=REASON)
    retrospective.close(actors.officer, search, reason="Case closed: suspect charged on other evidence")

    erasure.delete_subject(actors.privacy, adult.pk, reason=REASON)

    chosen.refresh_from_db()
    assert chosen.chosen_subject_id is None and chosen.operator == actors.officer
    assert Event.objects.get(action="templates.erase").data["identifications_detached"] == [chosen.pk]


def test_an_erased_image_leaves_the_candidate_lists_of_alerts_on_its_entries(actors, live, vans, astronaut):
    alert = Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0])
    image_id = alert.entry.image_id
    # Not yet judged, the alert keeps the image it was raised on: the erasure is refused and nothing changes.
    with pytest.raises(Conflict, match="not yet adjudicated"):
        erasure.delete_custody_image(actors.privacy, image_id, reason=REASON)
    alert.refresh_from_db()
    assert alert.candidates and alert.entry_id is not None
    alert_handling.adjudicate(actors.officer, alert, match=False, reason="Different person: older, taller")
    erasure.delete_custody_image(actors.privacy, image_id, reason=REASON)
    alert.refresh_from_db()
    assert alert.candidates == [] and alert.entry_id is None and alert.subject_id is not None
    assert Event.objects.get(action="custody_template.erase").data["candidate_lists"] == {"probes": 0, "alerts": 1}
