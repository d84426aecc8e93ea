"""From an adjudicated alert on a registered sex offender, one action opens a cross-referenced right-to-be-told case,
and the alert shows it. Matching knows nothing of disclosures: the panel is registered from above."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.disclosures import services
from apps.disclosures.choices import ContactMethod, Route, Stage
from apps.disclosures.models import DisclosureCase
from apps.matching.models import Alert
from apps.matching.services import alert_handling, live_capture
from apps.watchlists.models import Subject
from govern.errors import Conflict

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
JUDGED = "Same face, scar and ears; spoke to the operator"
ALERTS_REASON = "Adjudicating alerts at the van"


@pytest.fixture
def alert(live, vans, astronaut):
    return Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0])


def _flag(alert):
    # No service sets the flag yet (watchlists' SUBJECT_FIELDS does not list it): test setup writes it directly.
    Subject.objects.filter(pk=alert.subject_id).update(registered_sex_offender=True)
    alert.subject.refresh_from_db()


def test_only_an_adjudicated_alert_on_a_registered_sex_offender_opens_a_case(unit, actors, alert):
    _flag(alert)
    with pytest.raises(Conflict, match="not been adjudicated"):
        services.open_from_alert(unit.pc, alert)
    alert_handling.adjudicate(unit.pc, alert, match=True, reason=JUDGED)
    Subject.objects.filter(pk=alert.subject_id).update(registered_sex_offender=False)
    with pytest.raises(ValidationError, match="registered sex offender"):
        services.open_from_alert(unit.pc, alert)
    assert not DisclosureCase.objects.exists()


def test_a_false_alert_opens_nothing(unit, alert):
    _flag(alert)
    alert_handling.adjudicate(unit.pc, alert, match=False, reason="Different person: height and age are wrong")
    with pytest.raises(Conflict, match="false alert"):
        services.open_from_alert(unit.pc, alert)


def test_the_alert_page_opens_a_linked_case_in_one_action_and_then_shows_it(client, unit, actors, live, alert):
    _flag(alert)
    alert_handling.adjudicate(unit.pc, alert, match=True, reason=JUDGED)
    alerts_url = reverse("matching:alerts", args=[live.pk])
    client.force_login(actors.officer)  # an officer outside the unit sees no panel and may not open a case
    assert b"open-disclosure-case" not in client.get(alerts_url, {"reason": ALERTS_REASON}).content
    assert client.post(reverse("disclosures:open-from-alert", args=[alert.pk])).status_code == 403
    client.force_login(unit.pc)
    page = client.get(alerts_url, {"reason": ALERTS_REASON}).content.decode()
    assert "open-disclosure-case" in page
    response = client.post(reverse("disclosures:open-from-alert", args=[alert.pk]))
    case = DisclosureCase.objects.get()
    assert response.status_code == 302 and response.url == reverse("disclosures:case", args=[case.pk])
    assert case.route == Route.RIGHT_TO_BE_TOLD and case.contact_method == ContactMethod.POLICE_INFORMATION
    assert case.alert == alert and case.watchlist_subject_id == alert.subject_id and case.stage == Stage.CONTACT
    assert case.alert_reference == f"Alert {alert.pk} at {live.reference}"
    page = client.get(alerts_url, {"reason": ALERTS_REASON}).content.decode()
    assert case.reference in page and "open-disclosure-case" not in page
    with pytest.raises(Conflict, match="already opened"):
        services.open_from_alert(unit.pc, alert)


def test_the_api_opens_a_case_from_an_alert(api, unit, alert):
    _flag(alert)
    client = api(unit.pc)
    assert client.post("/api/disclosures/cases/from-alert/", {"alert": alert.pk}, format="json").status_code == 409
    alert_handling.adjudicate(unit.pc, alert, match=True, reason=JUDGED)
    opened = client.post("/api/disclosures/cases/from-alert/", {"alert": alert.pk}, format="json")
    assert (
        opened.status_code == 201
        and opened.json()["alert"] == alert.pk
        and opened.json()["route"] == "right_to_be_told"
    )


def test_an_alert_whose_subject_was_erased_opens_nothing_and_its_page_says_so(client, unit, actors, live, alert):
    from apps.watchlists.services import erasure

    _flag(alert)
    alert_handling.adjudicate(unit.pc, alert, match=True, reason=JUDGED)
    erasure.delete_subject(actors.privacy, alert.subject_id, reason="Erasure request DSR-11 granted: acquitted")
    alert.refresh_from_db()
    with pytest.raises(Conflict, match="erased"):
        services.open_from_alert(unit.pc, alert)
    client.force_login(unit.pc)
    page = client.get(reverse("matching:alerts", args=[live.pk]), {"reason": ALERTS_REASON}).content.decode()
    assert "Subject erased" in page and "open-disclosure-case" not in page
    assert not DisclosureCase.objects.exists()


def test_a_subject_a_sarahs_law_case_holds_is_not_erased_and_nothing_changes(unit, actors, alert):
    from apps.audit.models import Event
    from apps.watchlists.services import erasure

    _flag(alert)
    alert_handling.adjudicate(unit.pc, alert, match=True, reason=JUDGED)
    services.open_from_alert(unit.pc, alert)
    head = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    with pytest.raises(Conflict, match="held by"):  # a 409 with the record named, not a ProtectedError's 500
        erasure.delete_subject(actors.privacy, alert.subject_id, reason="Erasure request DSR-12 granted: acquitted")
    alert.refresh_from_db()
    assert alert.subject_id is not None and Subject.objects.filter(pk=alert.subject_id).exists()
    assert Event.objects.order_by("-seq").values_list("seq", flat=True).first() == head
