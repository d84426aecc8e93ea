"""The access log review: search by person, record, actor, time and reason; unusual reads flagged; exports."""

import csv
import datetime
import io
import json

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.audit import services as audit
from apps.audit.models import Event
from apps.matching.models import Alert
from apps.oversight import access_review
from apps.oversight.access_review import HEAVY, NO_CASE, OUT_OF_WINDOW, AccessFilter

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _read(target, actor, reason):
    with transaction.atomic():
        return audit.record_access(target, actor, reason)


def test_search_by_person_record_actor_reason_and_time(actors, ledgered, make_user):
    alert = Alert.objects.get(pk=ledgered.alert_id)
    mine = _read(alert, actors.officer, f"Adjudication for {ledgered.reference}")
    _read(("watchlists.subject", alert.subject_id), actors.privacy, "Audit sample AUD-2026-01")
    _read(("watchlists.subject", 999999), actors.privacy, "Someone else DPA-2026-7")
    by_person = access_review.search(AccessFilter(person=alert.subject_id))
    assert {e.seq for e in by_person} >= {mine.seq} and all(e.target_id != "999999" for e in by_person)
    assert [e.seq for e in access_review.search(AccessFilter(record=f"matching.alert:{alert.pk}"))] == [mine.seq]
    assert {e.actor_username for e in access_review.search(AccessFilter(actor="privacy"))} == {"privacy"}
    assert [e.seq for e in access_review.search(AccessFilter(reason="adjudication"))] == [mine.seq]
    future = timezone.now() + datetime.timedelta(hours=1)
    assert not access_review.search(AccessFilter(start=future)).exists()


def test_unusual_reads_are_flagged(actors, ledgered, make_user, settings):
    settings.ACCESS_HEAVY_READER_MINIMUM = 5
    alert = Alert.objects.get(pk=ledgered.alert_id)
    peer = make_user("peer", "officer")
    _read(alert, peer, f"Adjudication {ledgered.reference}")
    for n in range(12):
        _read(("watchlists.subject", n + 1), actors.officer, "just looking")
    late_time = timezone.now() + datetime.timedelta(days=5)  # a read long after the deployment ended
    late = _read(alert, actors.privacy, f"Review of {ledgered.reference}")
    from django.db import connection

    with connection.cursor() as cursor:  # the log refuses edits: move the time in a copy the review reads instead
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE audit_event SET created_at = %s WHERE seq = %s", [late_time, late.seq])
        cursor.execute("SET LOCAL session_replication_role = origin")
    rows = {row.event.seq: row for row in access_review.flag(access_review.search(AccessFilter()), AccessFilter())}
    officer_rows = [row for row in rows.values() if row.event.actor_username == "officer"]
    assert all(HEAVY in row.flags and NO_CASE in row.flags for row in officer_rows)
    assert OUT_OF_WINDOW in rows[late.seq].flags and NO_CASE not in rows[late.seq].flags
    peer_row = next(row for row in rows.values() if row.event.actor_username == "peer")
    assert peer_row.flags == []
    flagged = access_review.flag(access_review.search(AccessFilter()), AccessFilter(flagged_only=True))
    assert peer_row.event.seq not in {row.event.seq for row in flagged}


def test_exports_for_the_commissioner_are_logged_and_safe_in_a_spreadsheet(actors, ledgered, client):
    _read(("watchlists.subject", 1), actors.officer, "=HYPERLINK(evil) CASE-2026-9")
    client.force_login(actors.privacy)
    url = reverse("oversight:access")
    as_csv = client.get(url, {"actor": "officer", "format": "csv"})
    assert as_csv.status_code == 200 and as_csv["Content-Type"] == "text/csv"
    (row,) = list(csv.DictReader(io.StringIO(b"".join(as_csv.streaming_content).decode())))
    assert row["reason"].startswith("'=") and row["actor"] == "officer"
    as_json = client.get(url, {"actor": "officer", "format": "json"})
    document = json.loads(as_json.content)
    assert document["count"] == 1 and document["events"][0]["reason"].startswith("=HYPERLINK")
    exports = Event.objects.filter(action="access_log.exported")
    assert exports.count() == 2 and exports.first().data["filters"] == {"actor": "officer"}


def test_the_csv_export_streams_the_log_as_it_stood_and_is_logged_with_the_rows_it_sends(actors, client, api):
    """The export read, flagged and wrote up to 100,000 rows before its first byte left; it streams them now, and the
    reads logged while it streams are not in it, so the count logged is the count sent."""
    for _ in range(3):
        _read(("watchlists.subject", 1), actors.officer, "Judging CASE-2026-9")
    client.force_login(actors.privacy)
    exports = {
        "page": lambda: client.get(reverse("oversight:access"), {"format": "csv"}),
        "api": lambda: api(actors.privacy).get("/api/oversight/access/", {"export": "csv"}),
    }
    sent = {}
    for surface, export in exports.items():
        response = export()
        assert response.status_code == 200 and response.streaming and response["Content-Type"] == "text/csv"
        _read(("watchlists.subject", 2), actors.officer, f"Read while the {surface} export streams CASE-2026-10")
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        logged = Event.objects.filter(action="access_log.exported").order_by("-seq").first()
        assert len(rows) == logged.data["rows"] and f"the {surface} export streams" not in str(rows)
        sent[surface] = len(rows)
    assert sent == {"page": 3, "api": 5}  # then also the page's export (a disclosure) and the read while it streamed


def test_the_page_and_api_search_and_refuse_bad_filters(actors, ledgered, client, api):
    _read(("watchlists.subject", 1), actors.officer, "no case named here")
    client.force_login(actors.oversight)
    page = client.get(reverse("oversight:access"), {"actor": "officer"})
    assert page.status_code == 200 and 'data-flag="no_case_link"' in page.content.decode()
    assert client.get(reverse("oversight:access"), {"record": "not a record"}).status_code == 400
    listed = api(actors.oversight).get("/api/oversight/access/", {"actor": "officer"})
    assert listed.status_code == 200 and listed.json()["results"][0]["flags"] == ["no_case_link"]
    assert api(actors.oversight).get("/api/oversight/access/", {"actr": "officer"}).status_code == 400
    assert api(actors.officer).get("/api/oversight/access/").status_code == 403
