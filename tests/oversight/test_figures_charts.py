"""Charts of faces, alerts, false alerts and receipts (issue 23, point 6): drawn on the server from the records, one
bar per deployment, month or hour, the numbers beside each chart equal to the records, and "no data" for a period
that holds none."""

import datetime
import re

import pytest
from django.db import connection
from django.db.models import Sum
from django.urls import reverse

from apps.matching import figures
from apps.matching.models import FALSE_ALERTS, Alert, Capture, DeletionReceipt
from apps.matching.services import alert_handling

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _figure(page: str, chart_id: str) -> str:
    found = re.search(rf'<figure class="chart-figure" id="{chart_id}">(.*?)</figure>', page, re.S)
    assert found, f"no chart {chart_id}"
    return found.group(1)


def _table(page: str, name: str) -> list[list[str]]:
    """The rows of a figures table: [label, faces, alerts, false alerts, receipts, reconciles]."""
    body = re.search(rf'<table class="figures-table" id="table-{name}">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def _records(deployments) -> list[str]:
    """What the records hold, counted here without the figures module: faces, alerts, false alerts, receipts."""
    alerts = Alert.objects.filter(deployment__in=deployments)
    return [
        str(Capture.objects.filter(deployment__in=deployments).aggregate(n=Sum("faces"))["n"] or 0),
        str(alerts.count()),
        str(alerts.filter(FALSE_ALERTS).count()),
        str(DeletionReceipt.objects.filter(deployment__in=deployments).count()),
    ]


def _judge_false(actors, deployment):
    alert = Alert.objects.get(pk=deployment.alert_id)
    alert_handling.adjudicate(actors.officer, alert, match=False, reason="Not the person listed: different build")


def _move_first_frame_back_a_month(deployment):
    """The first frame (its alert) into the month before, as if filmed then: behind the services' back."""
    capture = Capture.objects.filter(deployment=deployment).order_by("received_at").first()
    earlier = capture.received_at - datetime.timedelta(days=40)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE matching_capture SET received_at = %s WHERE id = %s", [earlier, capture.pk])
        cursor.execute("UPDATE matching_alert SET created_at = %s WHERE capture_id = %s", [earlier, capture.pk])
        cursor.execute(
            "UPDATE matching_deletionreceipt SET created_at = %s WHERE capture_id = %s", [earlier, capture.pk]
        )


def test_the_dashboard_draws_one_bar_per_deployment_and_month_with_the_records_numbers_beside(actors, ledgered, client):
    _judge_false(actors, ledgered)
    _move_first_frame_back_a_month(ledgered)
    client.force_login(actors.privacy)
    page = client.get(reverse("oversight:dashboard")).content.decode()
    deployments = type(ledgered).objects.filter(pk=ledgered.pk)
    assert _table(page, "deployments") == [[ledgered.reference, *_records(deployments), "✔ yes"]]
    for chart in ("reconciliation", "alerts"):
        assert _figure(page, f"chart-deployments-{chart}").count('class="bar-row"') == 1
        assert _figure(page, f"chart-months-{chart}").count('class="bar-row"') == 2
    months = _table(page, "months")
    assert [row[1:5] for row in months] == [["1", "1", "1", "0"], ["2", "0", "0", "2"]]  # oldest first
    summed = [str(sum(int(row[column]) for row in months)) for column in range(1, 5)]
    assert summed == _records(deployments)
    reconciliation = _figure(page, "chart-deployments-reconciliation")
    assert "<title id=" in reconciliation and "<desc id=" in reconciliation and 'role="img"' in reconciliation
    # The tick (faces) stands where the stacked alerts and receipts end: faces = alerts + receipts, drawn.
    (bar,) = re.findall(r'<g class="bar-row".*?</g>', reconciliation, re.S)
    rects = [(float(x), float(w)) for x, w in re.findall(r'<rect x="([\d.]+)" y="3" width="([\d.]+)"', bar)]
    tick = float(re.search(r'<line class="marker-faces" x1="([\d.]+)"', bar).group(1))
    assert abs(rects[-1][0] + rects[-1][1] - tick) < 0.2
    assert " style=" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)  # the CSP allows neither


def test_a_month_short_of_a_receipt_shows_red_in_the_table_and_the_chart(actors, ledgered, client):
    receipt = DeletionReceipt.objects.filter(deployment=ledgered).order_by("pk").first()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM matching_deletionreceipt WHERE id = %s", [receipt.pk])
    client.force_login(actors.privacy)
    page = client.get(reverse("oversight:dashboard")).content.decode()
    (month,) = _table(page, "months")
    assert month[1:] == ["3", "1", "0", "1", "✘ no: 1 unaccounted"]
    assert "1 does not reconcile" in page


def test_the_oversight_deployment_page_draws_its_hours(actors, ledgered, client):
    _move_first_frame_back_a_month(ledgered)
    client.force_login(actors.oversight)
    page = client.get(reverse("oversight:deployment", args=[ledgered.pk])).content.decode()
    hours = _table(page, "hours")
    assert [row[1:5] for row in hours] == [["1", "1", "0", "0"], ["2", "0", "0", "2"]]
    assert _figure(page, "chart-hours-reconciliation").count('class="bar-row"') == 2


def test_the_commanders_figures_page_counts_the_records_for_a_period(actors, ledgered, client):
    _judge_false(actors, ledgered)
    client.force_login(actors.commander)
    url = reverse("matching:figures")
    page = client.get(url).content.decode()
    deployments = type(ledgered).objects.filter(pk=ledgered.pk)
    assert _table(page, "deployments") == [[ledgered.reference, *_records(deployments), "✔ yes"]]
    assert _figure(page, "chart-months-alerts").count('class="bar-row"') == 1
    started = ledgered.start.date()
    same_day = client.get(url, {"start": started, "end": started}).content.decode()
    assert _table(same_day, "deployments") == _table(page, "deployments")
    later = client.get(url, {"start": started + datetime.timedelta(days=1)})
    assert later.status_code == 200
    text = later.content.decode()
    assert text.count('class="no-data"') == 2 and "No data" in text and '<svg class="chart bars"' not in text
    backwards = client.get(url, {"start": started, "end": started - datetime.timedelta(days=1)})
    assert backwards.status_code == 400 and "must not be before its start" in backwards.content.decode()


def test_with_no_deployment_every_chart_says_no_data(actors, client):
    for user, url in [
        (actors.commander, reverse("matching:figures")),
        (actors.privacy, reverse("oversight:dashboard")),
    ]:
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert response.content.decode().count('class="no-data"') == 2


def test_only_commanders_and_oversight_open_the_figures_page(actors, client):
    for user, status in [(actors.officer, 403), (actors.compiler, 403), (actors.commander, 200), (actors.privacy, 200)]:
        client.force_login(user)
        assert client.get(reverse("matching:figures")).status_code == status, user


def test_by_month_counts_each_record_in_its_frames_month(ledgered):
    _move_first_frame_back_a_month(ledgered)
    tallies = figures.by_month(type(ledgered).objects.all())
    assert [(t.faces, t.alerts, t.receipts, t.reconciles) for t in tallies] == [(1, 1, 0, True), (2, 0, 2, True)]
    assert figures.by_month(type(ledgered).objects.none()) == []
