"""The alert queue on the shared table (issue 23, point 3): pending alerts first, then the newest; filtered by state
and time; exported as CSV, the export logged as a consultation of every alert in it."""

import csv
import io
import re

import pytest
from django.urls import reverse

from apps.audit.choices import CONSULTATION_ACTION
from apps.audit.models import Event
from apps.matching.models import Alert
from apps.matching.services import alert_handling, live_capture

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
WHY = "Working the queue at the deployment"


@pytest.fixture
def three(actors, live, vans, astronaut):
    """The oldest alert still pending; the two after it judged (one false, one a true match)."""
    pending, false, confirmed = (
        Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0]) for _ in range(3)
    )
    alert_handling.adjudicate(actors.officer, false, match=False, reason="Different ears and no scar")
    alert_handling.adjudicate(actors.officer, confirmed, match=True, reason="Same scar, same ears")
    return pending, false, confirmed


def _order(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<article class="card alert" id="alert-\d+" data-alert="(\d+)"', html)]


def _consultations(since: int):
    return list(Event.objects.filter(seq__gt=since, action=CONSULTATION_ACTION).order_by("seq"))


def test_pending_alerts_come_first_then_the_newest(actors, live, three, client):
    pending, false, confirmed = three
    client.force_login(actors.officer)
    page = client.get(reverse("matching:alerts", args=[live.pk]), {"reason": WHY})
    assert page.status_code == 200
    assert _order(page.content.decode()) == [pending.pk, confirmed.pk, false.pk]  # "pending" sorted last before
    html = page.content.decode()
    assert "?sort=created_at" in html and "reason=" not in html.replace('name="reason"', "")  # links leave it out
    newest = client.get(reverse("matching:alerts", args=[live.pk]), {"sort": "-created_at"})  # the session keeps it
    assert _order(newest.content.decode()) == [confirmed.pk, false.pk, pending.pk]


def test_the_queue_filters_by_state_and_logs_what_was_asked(actors, live, three, client):
    _pending, false, _confirmed = three
    client.force_login(actors.officer)
    since = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    page = client.get(reverse("matching:alerts", args=[live.pk]), {"reason": WHY, "state": "false"})
    assert _order(page.content.decode()) == [false.pk]
    (logged,) = _consultations(since)
    assert logged.data["state"] == "false" and logged.data["results"] == [false.pk]
    assert client.get(reverse("matching:alerts", args=[live.pk]), {"state": "maybe"}).status_code == 400
    assert client.get(reverse("matching:alerts", args=[live.pk]), {"since": "yesterday"}).status_code == 400


def test_the_queue_exports_as_csv_and_the_export_is_logged_with_every_alert(actors, live, three, client):
    pending, false, confirmed = three
    client.force_login(actors.officer)
    client.get(reverse("matching:alerts", args=[live.pk]), {"reason": WHY})
    since = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    exported = client.get(reverse("matching:alerts", args=[live.pk]), {"export": "csv"})
    assert exported.status_code == 200 and exported["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [row["State"] for row in rows] == ["Awaiting adjudication", "Judged a true match", "Judged a false alert"]
    assert rows[0]["Watchlist subject"] == str(pending.subject)
    (logged,) = _consultations(since)
    assert logged.reason == WHY and logged.data["export"] == "csv"
    assert logged.data["results"] == [pending.pk, confirmed.pk, false.pk]
