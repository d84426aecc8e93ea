"""Every alert waits for a human: no engagement or outcome before adjudication; figures follow."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Event
from apps.deployments.models import PublishedFigures
from apps.matching import selectors
from apps.matching.choices import AlertState, Outcome
from apps.matching.models import Alert
from apps.matching.services import alert_handling, live_capture
from govern.errors import Conflict

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
REASON = "Compared the faces: same scar, same ears"


@pytest.fixture
def alert(live, vans, astronaut):
    return Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0])


def test_nothing_is_done_on_an_alert_before_a_human_judges_it(actors, alert):
    with pytest.raises(Conflict, match="only after the alert was judged"):
        alert_handling.engage(actors.officer, alert)
    with pytest.raises(Conflict, match="only after an engagement"):
        alert_handling.record_alert_outcome(
            actors.officer, alert, outcome=Outcome.ARREST, identity_check="fingerprint", stop_minutes=10
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.filter(pk=alert.pk).update(engaged_at=timezone.now())  # the database refuses it too


def test_only_officers_judge_and_a_reason_is_needed(actors, approvers, alert):
    with pytest.raises(PermissionDenied):
        alert_handling.adjudicate(actors.retail, alert, match=True, reason=REASON)
    with pytest.raises(PermissionDenied):
        alert_handling.adjudicate(actors.compiler, alert, match=True, reason=REASON)
    with pytest.raises(ValidationError):
        alert_handling.adjudicate(actors.officer, alert, match=True, reason="")
    judged = alert_handling.adjudicate(actors.officer, alert, match=True, reason=REASON)
    assert judged.state == AlertState.CONFIRMED and judged.adjudicated_by == actors.officer
    with pytest.raises(Conflict, match="already judged"):
        alert_handling.adjudicate(actors.officer, alert, match=False, reason=REASON)


def test_engagement_and_outcome_feed_the_published_figures(actors, live, alert):
    alert_handling.adjudicate(actors.officer, alert, match=True, reason=REASON)
    alert_handling.engage(actors.officer, alert)
    alert_handling.record_alert_outcome(
        actors.officer,
        alert,
        outcome=Outcome.ARREST,
        identity_check="fingerprint",
        stop_minutes=10,
        note="Arrested on the warrant",
    )
    figures = PublishedFigures.objects.get(deployment=live)
    assert (figures.faces_processed, figures.alerts, figures.true_alerts, figures.engagements, figures.arrests) == (
        1,
        1,
        1,
        1,
        1,
    )
    assert Event.objects.filter(action="alert.outcome").count() == 1


def test_a_false_alert_is_counted_as_false(actors, live, alert):
    alert_handling.adjudicate(actors.officer, alert, match=False, reason="Different person: height and age wrong")
    assert PublishedFigures.objects.get(deployment=live).false_alerts == 1


def test_retail_partners_and_compilers_never_see_alerts(actors, client, live, alert):
    for user in (actors.retail, actors.compiler):
        client.force_login(user)
        assert client.get(reverse("matching:alerts", args=[live.pk]), {"reason": "curious"}).status_code == 403
        probe = client.get(reverse("matching:alert-image", args=[alert.pk, "probe"]), {"reason": "curious"})
        assert probe.status_code == 403  # refused for the role, not "not found"


def test_the_officer_page_needs_a_reason_and_logs_every_image(actors, client, live, alert):
    client.force_login(actors.officer)
    page = client.get(reverse("matching:alerts", args=[live.pk]))
    assert b"Why are you consulting this record?" in page.content
    page = client.get(reverse("matching:alerts", args=[live.pk]), {"reason": "Adjudicating at the van"})
    assert b"COLLINS" in page.content and b"uncalibrated" in page.content
    probe = client.get(reverse("matching:alert-image", args=[alert.pk, "probe"]), {"reason": "Adjudicating at the van"})
    assert probe.status_code == 200 and probe.content[:3] == b"\xff\xd8\xff"
    reference = client.get(
        reverse("matching:alert-image", args=[alert.pk, "reference"]), {"reason": "Adjudicating at the van"}
    )
    assert reference.status_code == 200
    consulted = Event.objects.filter(action="record.consulted", reason="Adjudicating at the van")
    assert {(e.target_type, e.target_id) for e in consulted} == {
        ("matching.alert", "list"),  # the queue: the same read as the API's list of alerts
        ("matching.alert", str(alert.pk)),
        ("watchlists.custodyimage", str(alert.entry.image_id)),
    }
    queue = consulted.get(target_id="list")
    assert queue.data == {"deployment": live.pk, "state": None, "results": [alert.pk]}


def test_the_queue_polls_numbers_only_and_logs_no_consultation_for_them(actors, client, live, vans, astronaut, alert):
    """The counts htmx polls on the alert queue: the figures and how many alerts came after the newest shown, with
    no face, no name and no consultation event; the queue itself is still where alerts are seen (and logged)."""
    client.force_login(actors.officer)
    queue = client.get(reverse("matching:alerts", args=[live.pk]), {"reason": "Adjudicating at the van"})
    polls = f'hx-get="/matching/deployments/{live.pk}/alerts/counts/?since={alert.pk}&amp;announced=0"'
    assert polls.encode() in queue.content
    assert b'id="pending">1<' in queue.content and b"new-alerts" not in queue.content  # filled from the start
    logged = Event.objects.filter(action="record.consulted").count()
    url = reverse("matching:alert-counts", args=[live.pk])

    counts = client.get(url, {"since": alert.pk})
    assert counts.status_code == 200 and b'id="pending">1<' in counts.content and b"new-alerts" not in counts.content
    newer = live_capture.capture_frame(vans[0], astronaut).alerts[0]  # the van sees the face again
    counts = client.get(url, {"since": alert.pk})
    assert b"1 new alert</strong>" in counts.content and b'id="pending">2<' in counts.content
    assert b"COLLINS" not in counts.content.upper() and b"<img" not in counts.content
    assert client.get(url, {"since": newer}).content.count(b"new-alerts") == 0
    assert Event.objects.filter(action="record.consulted").count() == logged
    assert client.get(url, {"since": "yesterday"}).status_code == 400
    client.force_login(actors.retail)
    assert client.get(url, {"since": 0}).status_code == 403


def test_the_alerts_api_logs_reads_and_enforces_the_order(actors, api, live, alert):
    client = api(actors.officer)
    assert client.get("/api/matching/alerts/").status_code == 400
    rows = client.get("/api/matching/alerts/", {"reason": "Shift handover review", "deployment": live.pk}).json()
    assert [row["id"] for row in rows["results"]] == [alert.pk]
    assert Event.objects.filter(action="record.consulted", target_id="list").count() == 1
    assert client.post(f"/api/matching/alerts/{alert.pk}/engage/").status_code == 409
    judged = client.post(
        f"/api/matching/alerts/{alert.pk}/adjudicate/", {"match": True, "reason": REASON}, format="json"
    )
    assert judged.status_code == 200 and judged.json()["state"] == "confirmed"
    assert api(actors.retail).get("/api/matching/alerts/", {"reason": "Shift handover review"}).status_code == 403
    assert api(actors.retail).post(f"/api/matching/alerts/{alert.pk}/engage/").status_code == 403


def test_false_alerts_lose_their_probe_after_retention_unless_held(actors, approvers, live, vans, astronaut, settings):
    import datetime

    settings.ALERT_FALSE_RETENTION_DAYS = 30
    first, second = (Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0]) for _ in range(2))
    for alert in (first, second):
        alert_handling.adjudicate(actors.officer, alert, match=False, reason="Different person: older, taller")
    alert_handling.place_hold(approvers.superintendent, second, reason="Complaint received: keep as evidence")
    later = timezone.now() + datetime.timedelta(days=31)
    assert alert_handling.retention_sweep(now=later, dry_run=True) == [first.pk]
    assert alert_handling.retention_sweep(now=later) == [first.pk]
    assert alert_handling.retention_sweep(now=later) == []  # idempotent
    first.refresh_from_db()
    assert bytes(first.probe_ciphertext) == b"" and first.probe_deleted_at is not None
    assert Event.objects.filter(action="alert.probe_deleted", target_id=str(first.pk)).count() == 1
    with pytest.raises(Conflict, match="retention"):
        selectors.probe_image(actors.officer, first, reason="Reviewing the complaint")
    assert alert_handling.reconciliation(live)["reconciles"]
    alert_handling.release_hold(approvers.superintendent, second, reason="Complaint resolved")
    assert alert_handling.retention_sweep(now=later) == [second.pk]


# --- Bad input on pages gets a clear 4xx (issue 20, item 8) --------------------------------------------------------


def test_a_nul_or_a_line_break_in_an_adjudication_reason_is_refused_not_a_500(actors, client, alert):
    client.force_login(actors.officer)
    for reason in ("Not him\x00", "Not him: different\r\nInjected: log line"):
        response = client.post(f"/matching/alerts/{alert.pk}/judge/", {"match": "no", "reason": reason})
        assert response.status_code in (302, 400), response.status_code
        assert Alert.objects.get(pk=alert.pk).state == "pending"
    with pytest.raises(ValidationError, match="one line"):
        alert_handling.adjudicate(actors.officer, alert, match=False, reason="Different\nperson")


def test_a_judgement_on_the_page_says_what_it_will_do_before_it_is_done(actors, client, alert):
    client.force_login(actors.officer)
    url = f"/matching/alerts/{alert.pk}/judge/"
    body = {"match": "no", "reason": "Different ears and jaw", "perceived_sex": "female"}
    asked = client.post(url, body)
    page = asked.content.decode()
    assert asked.status_code == 200 and f"Judge alert {alert.pk} a false alert" in page and 'id="confirm"' in page
    assert 'name="perceived_sex" value="female"' in page and 'name="confirmed" value="yes"' in page
    assert Alert.objects.get(pk=alert.pk).state == "pending"  # nothing done yet
    assert client.post(url, {**body, "confirmed": "yes"}).status_code == 302
    assert Alert.objects.get(pk=alert.pk).state == "false"
    again = client.post(url, {**body, "match": "yes", "confirmed": "yes"}, follow=True)  # a stale second judgement
    assert "already judged" in again.content.decode() and Alert.objects.get(pk=alert.pk).state == "false"


def test_a_nul_in_an_image_reason_is_a_400(actors, client, alert):
    client.force_login(actors.officer)
    response = client.get(f"/matching/alerts/{alert.pk}/probe.jpg", {"reason": "looking\x00"})
    assert response.status_code == 400 and b"one line" in response.content


def test_the_queue_preselects_no_judgement_and_no_choice_judges_nothing(actors, client, alert):
    """True match and false alert are radios with neither chosen; a judgement sent without a choice is refused,
    even confirmed (read as "no", it recorded a false alert)."""
    client.force_login(actors.officer)
    queue = f"/matching/deployments/{alert.deployment_id}/alerts/"
    page = client.get(queue, {"reason": "Working the queue on shift"}).content.decode()
    assert f'id="match-{alert.pk}-yes"' in page and f'id="match-{alert.pk}-no"' in page
    assert "checked" not in page.split(f'id="match-{alert.pk}-yes"')[0].rsplit("<input", 1)[1]
    assert f'for="reason-{alert.pk}"' in page  # the reason has its own label
    url = f"/matching/alerts/{alert.pk}/judge/"
    refused = client.post(url, {"reason": "Different ears and jaw", "confirmed": "yes"}, follow=True)
    assert "choose a true match or a false alert" in refused.content.decode()
    assert Alert.objects.get(pk=alert.pk).state == "pending"
