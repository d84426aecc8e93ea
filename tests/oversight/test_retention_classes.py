"""Retention for every class: each has a period within legal bounds, a sweep with a dry run, a receipt per deletion,
and reviews of its period recorded."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.audit import services as audit
from apps.audit.choices import CONSULTATION_ACTION, REDACTED_PREFIX
from apps.audit.models import Event
from apps.audit.verification import verify
from apps.disclosures.choices import Stage
from apps.disclosures.models import Check, Child, DisclosureCase
from apps.matching.choices import ProbeState, SearchState
from apps.matching.models import Alert, Probe, SearchRequest
from apps.matching.services import alert_handling, live_capture
from apps.oversight import services, sweep
from apps.oversight.choices import DataClass
from apps.oversight.models import RetentionPolicy, RetentionReview
from apps.oversight.retention import retention_hours
from apps.watchlists.models import Subject
from govern.errors import Conflict
from tests.disclosures.conftest import checked, right_to_ask, unit  # noqa: F401  (the unit fixture)

pytestmark = [pytest.mark.django_db]
WHY = "DPIA review 2026: the period follows MoPI group 3."
HistoricalSubject = Subject.history.model


def _subject(actors, pnc="26/000001A"):
    return Subject.objects.create(
        family_name="Smith", given_names="Ann", date_of_birth=datetime.date(1990, 1, 2), pnc_id=pnc,
        created_by=actors.compiler,
    )  # fmt: skip


def test_every_class_has_legal_bounds_and_a_period_outside_them_is_refused(actors):
    with pytest.raises(ValidationError, match="at most 366 days"):
        services.set_retention(actors.privacy, DataClass.OPEN_SEARCHES, hours=367 * 24, reason=WHY)
    with pytest.raises(ValidationError, match="at least 366"):
        services.set_retention(actors.privacy, DataClass.DISCLOSURE_CASES, hours=24, reason=WHY)
    assert not Event.objects.filter(action="retention.policy_set").exists()
    services.set_retention(actors.privacy, DataClass.SUBJECT_HISTORY, hours=48, reason=WHY)
    statuses = {s.data_class: s for s in services.reconciliation.retention_statuses()}
    assert set(statuses) == set(DataClass.values)
    assert (statuses["open_searches"].minimum_days, statuses["open_searches"].maximum_days) == (7, 366)
    assert statuses["subject_history"].hours == 48


def test_a_review_of_a_period_is_recorded_with_who_when_and_the_next_date(actors, client, api):
    today = timezone.localdate()
    for someone in (actors.officer, actors.oversight, actors.admin):
        with pytest.raises(PermissionDenied):
            services.review_retention(
                someone, DataClass.ACCESS_LOGS, finding=WHY, next_review_on=today + datetime.timedelta(days=30)
            )
    with pytest.raises(ValidationError, match="after today"):
        services.review_retention(actors.privacy, DataClass.ACCESS_LOGS, finding=WHY, next_review_on=today)
    with pytest.raises(ValidationError, match="no later than"):
        services.review_retention(
            actors.privacy, DataClass.ACCESS_LOGS, finding=WHY, next_review_on=today + datetime.timedelta(days=5000)
        )
    assert not RetentionReview.objects.exists()

    review = services.review_retention(
        actors.privacy, DataClass.ACCESS_LOGS, finding=WHY, next_review_on=today + datetime.timedelta(days=365)
    )
    assert (review.reviewed_by, review.hours) == (actors.privacy, 6 * 366 * 24)
    event = Event.objects.get(action="retention.reviewed")
    assert event.actor_username == "privacy" and event.reason == WHY
    assert event.data["next_review_on"] == (today + datetime.timedelta(days=365)).isoformat()

    privacy = api(actors.privacy)
    answer = privacy.post(
        "/api/oversight/retention/review/",
        {"data_class": "subject_history", "finding": WHY, "next_review_on": str(today + datetime.timedelta(days=90))},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert privacy.post("/api/oversight/retention/review/", {"data_class": "x"}, format="json").status_code == 400
    assert api(actors.oversight).post("/api/oversight/retention/review/", {}, format="json").status_code == 403
    listed = {row["data_class"]: row for row in privacy.get("/api/oversight/retention/").json()}
    assert listed["subject_history"]["last_review"]["reviewed_by"] == "privacy"
    assert listed["custody_images"]["last_review"] is None

    client.force_login(actors.privacy)
    page = client.post(
        "/oversight/retention/review/",
        {"data_class": "alert_records", "finding": WHY, "next_review_on": str(today + datetime.timedelta(days=60))},
    )
    assert page.status_code == 302
    assert RetentionReview.objects.filter(data_class="alert_records", reviewed_by=actors.privacy).exists()
    refused = client.post("/oversight/retention/review/", {"data_class": "alert_records", "finding": "short"})
    assert refused.status_code == 400 and RetentionReview.objects.count() == 3
    assert "Never reviewed" in client.get("/oversight/retention/").content.decode()


def test_subject_history_goes_in_chunks_with_every_version_in_a_receipt(actors, settings):
    settings.RETENTION_CHUNK_ROWS = 2
    subjects = [_subject(actors, f"26/00000{n}A") for n in range(3)]
    for subject in subjects:
        subject.given_names = "Anne"
        subject.save()
    old = list(HistoricalSubject.objects.values_list("history_id", flat=True))
    assert len(old) == 6
    now = timezone.now()
    HistoricalSubject.objects.update(history_date=now - datetime.timedelta(days=400))
    recent = _subject(actors, "26/000009A")

    (due,) = services.retention_sweep(now=now, dry_run=True)
    assert (due.data_class, due.outcome, due.count) == ("subject_history", "due", 6)
    assert HistoricalSubject.objects.count() == 7

    done = services.retention_sweep(now=now)
    assert [item.count for item in done] == [2, 2, 2]
    assert list(HistoricalSubject.objects.values_list("id", flat=True)) == [recent.pk]
    assert Subject.objects.count() == 4  # the live rows are the custody deletion service's
    receipted = [row[0] for e in Event.objects.filter(action="retention.deleted") for row in e.data["rows"]]
    assert sorted(receipted) == sorted(old)
    assert Event.objects.get(action="retention.sweep").data == {"deleted": {"subject_history": 6}}
    assert verify().ok


def _alerts(live, vans, astronaut, n):
    return [Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0]) for _ in range(n)]


@pytest.mark.slow
def test_alert_text_goes_after_its_period_unless_held(actors, approvers, live, vans, astronaut):
    old, held, recent = _alerts(live, vans, astronaut, 3)
    for alert in (old, held, recent):
        alert_handling.adjudicate(actors.officer, alert, match=False, reason="Different person: older, taller")
    alert_handling.place_hold(approvers.superintendent, held, reason="Complaint received: keep as evidence")
    now = timezone.now()
    Alert.objects.filter(pk__in=[old.pk, held.pk]).update(adjudicated_at=now - datetime.timedelta(days=400))

    preview = [i for i in services.retention_sweep(now=now, dry_run=True) if i.data_class == "alert_records"]
    assert [(i.outcome, i.count) for i in preview] == [("due", 1)]
    services.retention_sweep(now=now)
    old.refresh_from_db()
    assert (old.adjudication_reason, old.candidates) == ("", [])
    for alert in (held, recent):
        alert.refresh_from_db()
        assert alert.adjudication_reason and alert.candidates
    (receipt,) = Event.objects.filter(action="alert.text_deleted")
    assert list(receipt.data["alerts"]) == [str(old.pk)]
    assert alert_handling.reconciliation(live)["reconciles"]  # the row stays: faces = alerts + receipts


def test_searches_never_closed_lose_their_stills_and_candidates(actors):
    search = SearchRequest.objects.create(
        reference="RFR-OLD", submitted_by=actors.officer, incident_reference="CRIME/1/26", crime_type="Theft",
        state=SearchState.READY,
    )  # fmt: skip
    Probe.objects.create(request=search, position=0, sha256="a" * 64, ciphertext=b"still", candidates=[{"s": 1}])
    fresh = SearchRequest.objects.create(
        reference="RFR-NEW", submitted_by=actors.officer, incident_reference="CRIME/2/26", crime_type="Theft"
    )
    now = timezone.now()
    SearchRequest.objects.filter(pk=search.pk).update(submitted_at=now - datetime.timedelta(days=91))

    assert [(i.target, i.outcome) for i in sweep.sweep_class("open_searches", 90 * 24, now, dry_run=True)] == [
        ("1 past 2160 h", "due")
    ]
    assert Probe.objects.get(request=search).ciphertext is not None
    (item,) = sweep.sweep_class("open_searches", 90 * 24, now, dry_run=False)
    assert (item.target, item.outcome) == ("RFR-OLD", "deleted")
    probe = Probe.objects.get(request=search)
    assert (probe.ciphertext, probe.candidates, probe.state) == (None, [], ProbeState.DELETED)
    search.refresh_from_db()
    fresh.refresh_from_db()
    assert search.state == SearchState.CLOSED and fresh.state == SearchState.QUEUED
    assert Event.objects.filter(action="probe.deleted", target_id=str(probe.pk)).count() == 1
    assert Event.objects.get(action="search.closed").target_id == str(search.pk)
    # Each still's absence confirmed by an exact search, as a closure by hand does: the reconciliation stays green.
    stills = {status.kind: status for status in services.reconciliation.evidence_statuses()}["search_still"]
    assert stills.ok and (stills.deleted, stills.confirmed) == (1, 1), stills.problems


def test_completed_sarahs_law_cases_go_with_everything_they_hold(unit):  # noqa: F811
    old = checked(unit.pc, right_to_ask(unit.pc))
    open_case = right_to_ask(unit.pc)
    now = timezone.now()
    DisclosureCase.objects.filter(pk=old.pk).update(
        stage=Stage.COMPLETED, completed_at=now - datetime.timedelta(days=7 * 366)
    )
    assert [i.count for i in sweep.sweep_class("disclosure_cases", 6 * 366 * 24, now, dry_run=True)] == [1]
    (item,) = sweep.sweep_class("disclosure_cases", 6 * 366 * 24, now, dry_run=False)
    assert (item.target, item.outcome) == (old.reference, "deleted")
    assert list(DisclosureCase.objects.values_list("pk", flat=True)) == [open_case.pk]
    assert not DisclosureCase.history.filter(id=old.pk).exists()
    assert not Child.history.exclude(case_id=open_case.pk).exists()
    assert not Check.history.exclude(case_id=open_case.pk).exists()
    receipt = Event.objects.get(action="disclosure_case.deleted")
    assert receipt.data["deleted"]["check"] == 2 and receipt.data["deleted"]["child"] == 1
    assert "John Subject" not in receipt.canonical


def test_subjects_past_the_custody_period_are_erased_with_a_receipt_unless_held_as_evidence(actors):
    old, recent, held = (_subject(actors, f"26/00000{n}A") for n in (1, 2, 3))
    now = timezone.now()
    Subject.objects.filter(pk__in=[old.pk, held.pk]).update(updated_at=now - datetime.timedelta(days=7 * 366))
    from apps.watchlists.services import erasure

    def refuse_held(sender, subject_id, **_kwargs):
        if subject_id == held.pk:
            raise Conflict("held as evidence")

    erasure.signals.subject_erasing.connect(refuse_held)
    try:
        items = [i for i in services.retention_sweep(now=now, dry_run=True) if i.data_class == "custody_images"]
        assert [(i.target, i.outcome) for i in items] == [(f"subject {old.pk}", "due"), (f"subject {held.pk}", "due")]
        assert Subject.objects.filter(pk__in=[old.pk, recent.pk, held.pk]).count() == 3  # a dry run erases nobody
        items = [i for i in services.retention_sweep(now=now, dry_run=False) if i.data_class == "custody_images"]
    finally:
        erasure.signals.subject_erasing.disconnect(refuse_held)
    assert [(i.target, i.outcome) for i in items] == [(f"subject {old.pk}", "deleted"), (f"subject {held.pk}", "held")]
    assert set(Subject.objects.values_list("pk", flat=True)) >= {recent.pk, held.pk}
    assert not Subject.objects.filter(pk=old.pk).exists()
    receipt = Event.objects.get(action="subject.erase", target_id=str(old.pk))
    assert receipt.actor_id is None and "retention period" in receipt.reason


def test_access_logs_are_redacted_and_the_log_still_verifies(actors, settings, redaction_floor):
    settings.RETENTION_CHUNK_ROWS = 2
    redaction_floor(0)
    why = "Checking the suspect for case X"
    reads = [audit.record_access(("watchlists.subject", n), actors.officer, why) for n in range(3)]
    other = audit.record("retention.sweep", ("oversight.retention", "sweep"), None, data={"deleted": {}})
    audit.sign_checkpoint()
    later = timezone.now() + datetime.timedelta(days=6 * 366 + 1)

    (due,) = sweep.sweep_class("access_logs", 6 * 366 * 24, later, dry_run=True)
    assert due.count == 3
    done = sweep.sweep_class("access_logs", 6 * 366 * 24, later, dry_run=False)
    assert [i.count for i in done] == [2, 1]
    for read in reads:
        row = Event.objects.get(seq=read.seq)
        assert row.canonical.startswith(REDACTED_PREFIX) and bytes(row.leaf_hash) == read.leaf_hash
        assert (row.reason, row.target_id, row.actor_id, row.actor_username) == ("", "", None, "(redacted)")
        assert "suspect" not in row.canonical and row.action == CONSULTATION_ACTION
    receipts = Event.objects.filter(action="audit.consultations_redacted")
    named = {seq: leaf for receipt in receipts for seq, leaf in receipt.data["events"].items()}
    assert named == {str(read.seq): read.leaf_hash.hex() for read in reads}
    audit.sign_checkpoint()
    report = verify()
    assert report.ok, report.problems
    assert verify(columns=False).ok
    assert sweep.sweep_class("access_logs", 6 * 366 * 24, later, dry_run=False) == []

    # Only a consultation can be redacted; nothing is ever deleted.
    for sql in (
        f"UPDATE audit_event SET reason = 'x' WHERE seq = {other.seq}",
        f"UPDATE audit_event SET reason = 'x' WHERE seq = {reads[0].seq}",  # already redacted
        f"DELETE FROM audit_event WHERE seq = {reads[1].seq}",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)


def test_a_redaction_cannot_hide_a_changed_leaf(actors, redaction_floor):
    redaction_floor(0)
    read = audit.record_access(("watchlists.subject", 1), actors.officer, "Checking suspect for case X")
    audit.redact_consultations(timezone.now() + datetime.timedelta(days=1), limit=10, retention_hours=1)
    with connection.cursor() as cursor:  # a superuser rewrites the kept leaf behind the trigger's back
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE audit_event SET leaf_hash = %s WHERE seq = %s", [b"\x00" * 32, read.seq])
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    report = verify()
    assert not report.ok and report.first_problem.seq == read.seq


def test_the_command_lists_every_class_due_in_a_dry_run(actors):
    _subject(actors)
    HistoricalSubject.objects.update(history_date=timezone.now() - datetime.timedelta(days=400))
    out = io.StringIO()
    call_command("oversight_retention", "--dry-run", stdout=out)
    assert "subject_history" in out.getvalue() and "1 due" in out.getvalue()
    assert HistoricalSubject.objects.count() == 1


def test_an_overdue_review_of_a_period_is_a_finding_for_the_privacy_officers(actors):
    today = timezone.localdate()
    services.review_retention(
        actors.privacy, DataClass.OPEN_SEARCHES, finding=WHY, next_review_on=today + datetime.timedelta(days=30)
    )
    assert not [f for f in services.findings() if f.key.startswith("retention_review:")]
    later = timezone.now() + datetime.timedelta(days=31)
    (finding,) = [f for f in services.findings(later) if f.key.startswith("retention_review:")]
    assert finding.key == "retention_review:open_searches" and "overdue" in finding.title


def test_a_stored_period_outside_the_bounds_never_applies_and_is_a_finding(actors, settings):
    low, high = (days * 24 for days in settings.RETENTION_BOUNDS_DAYS["access_logs"])
    services.set_retention(actors.privacy, DataClass.ACCESS_LOGS, hours=low, reason=WHY)
    assert not [f for f in services.findings() if f.key.startswith("retention_bounds:")]
    # Stored before the bounds existed (or under looser ones): a day, far below the access log's legal minimum.
    RetentionPolicy.objects.filter(data_class=DataClass.ACCESS_LOGS).update(hours=24)
    assert retention_hours(DataClass.ACCESS_LOGS) == low
    (finding,) = [f for f in services.findings() if f.key.startswith("retention_bounds:")]
    assert finding.key == "retention_bounds:access_logs" and f"{low} hours applies" in finding.message
    RetentionPolicy.objects.filter(data_class=DataClass.ACCESS_LOGS).update(hours=high + 1)
    assert retention_hours(DataClass.ACCESS_LOGS) == high
    # The sweep takes the clamped period: nothing younger than the minimum is due.
    audit.record_access(("watchlists.subject", 1), actors.officer, "Checking suspect for case X")
    RetentionPolicy.objects.filter(data_class=DataClass.ACCESS_LOGS).update(hours=24)
    items = services.retention_sweep(timezone.now() + datetime.timedelta(days=2), dry_run=True)
    assert not [i for i in items if i.data_class == DataClass.ACCESS_LOGS]


def test_the_dashboards_periods_are_read_in_one_query_and_are_those_in_force(actors, settings):
    """The dashboard read each class's policy with a query of its own (eleven a page); it reads them all at once, each
    the period `retention_hours` gives: stored, default, or held within the bounds."""
    from django.test.utils import CaptureQueriesContext

    from apps.oversight import reconciliation

    low, high = (days * 24 for days in settings.RETENTION_BOUNDS_DAYS["access_logs"])
    services.set_retention(actors.privacy, DataClass.ACCESS_LOGS, hours=low, reason=WHY)
    RetentionPolicy.objects.filter(data_class=DataClass.ACCESS_LOGS).update(hours=high + 1)  # stored out of bounds
    with CaptureQueriesContext(connection) as read:
        statuses = reconciliation.retention_statuses()
    assert {status.data_class: status.hours for status in statuses} == {c.value: retention_hours(c) for c in DataClass}
    assert sum('FROM "oversight_retentionpolicy"' in query["sql"] for query in read.captured_queries) == 1
