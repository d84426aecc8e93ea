"""Deletion evidence for every biometric (issue 26, point 4): alert probes, retrospective stills and custody templates
get what a list's purge gets, an exact search showing them absent in the deleting transaction, a VACUUM after it
commits, and their row on the reconciliation page and in the API."""

import datetime

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from apps.audit.choices import DataKeyOwner
from apps.audit.models import DataKey, Event
from apps.matching.choices import Biometric, ProbeState, SearchState
from apps.matching.models import Alert, CustodyTemplate, Probe, SearchRequest
from apps.matching.services import alert_handling, deletion_evidence, retrospective
from apps.matching.services.deletion_evidence import BiometricSurvived, record_deletion_evidence
from apps.oversight import reconciliation
from tests.matching_fixtures import astronaut_subject

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _status(kind: str, now=None) -> reconciliation.EvidenceStatus:
    (status,) = [s for s in reconciliation.evidence_statuses(now) if s.kind == kind]
    return status


def _evidence(kind: str) -> list[dict]:
    return [event.data for event in deletion_evidence.evidence_of(kind).order_by("seq")]


def _false_alert_swept(actors, ledgered) -> Alert:
    alert = Alert.objects.get(pk=ledgered.alert_id)
    alert_handling.adjudicate(actors.officer, alert, match=False, reason="Not the same person")
    assert alert_handling.retention_sweep(now=timezone.now() + datetime.timedelta(days=400)) == [alert.pk]
    return alert


def test_an_alert_probe_deleted_under_retention_is_shown_absent_and_reconciled(actors, ledgered, client, api):
    alert = _false_alert_swept(actors, ledgered)
    (data,) = _evidence(Biometric.ALERT_PROBE)
    key = DataKey.objects.get(owner_kind=DataKeyOwner.ALERT_PROBE, owner_id=alert.pk)
    assert data == {
        "kind": "alert_probe",
        "ids": [alert.pk],
        "vectors_searched": 0,
        "absence_confirmed_by_exact_search": True,
        "data_keys_destroyed": [key.pk],  # the probe's copies beyond the table are unreadable too
    }
    assert key.destroyed_at is not None
    event = Event.objects.get(action="biometric.absence_confirmed")
    assert (event.target_type, event.target_id) == ("matching.alert", str(alert.pk))
    status = _status(Biometric.ALERT_PROBE)
    assert (status.deleted, status.confirmed, status.vacuumed, status.ok) == (1, 1, 0, True)  # VACUUM: after commit
    later = timezone.now() + datetime.timedelta(hours=2)
    assert "not vacuumed" in _status(Biometric.ALERT_PROBE, later).problems[0]
    client.force_login(actors.privacy)
    page = client.get(reverse("oversight:dashboard")).content.decode()
    assert 'class="ledger-green" data-biometric="alert_probe"' in page
    rows = api(actors.privacy).get("/api/oversight/deletion-evidence/").json()
    (row,) = [r for r in rows if r["kind"] == "alert_probe"]
    assert (row["deleted"], row["confirmed"], row["ok"]) == (1, 1, True)


def test_a_probe_deleted_behind_the_services_back_is_red(actors, ledgered, client):
    Alert.objects.filter(pk=ledgered.alert_id).update(probe_ciphertext=b"", probe_deleted_at=timezone.now())
    status = _status(Biometric.ALERT_PROBE)
    assert status.problems == ["1 deleted with no exact search confirming their absence."]
    keys = {finding.key for finding in reconciliation_findings()}
    assert "evidence:alert_probe" in keys
    client.force_login(actors.privacy)
    page = client.get(reverse("oversight:dashboard")).content.decode()
    assert 'class="ledger-red" data-biometric="alert_probe"' in page


def reconciliation_findings():
    from apps.oversight import services

    return services.findings()


def test_closing_a_search_records_the_stills_absence(actors, astronaut, engine_approved):
    _subject, image = astronaut_subject(actors.compiler, astronaut, pnc_id="56/000002D")
    assert retrospective.enrol_custody_image(image.pk)
    request = retrospective.submit(actors.officer, [astronaut, astronaut], incident_reference="CAD 7", crime_type="X")
    retrospective.run_search(request.pk)
    retrospective.close(actors.officer, request, reason="Case closed: charged")
    (data,) = _evidence(Biometric.SEARCH_STILL)
    assert data["ids"] == sorted(request.probes.values_list("pk", flat=True)) and len(data["ids"]) == 2
    event = Event.objects.get(action="biometric.absence_confirmed")
    assert (event.target_type, event.target_id, event.actor_id) == (
        "matching.searchrequest",
        str(request.pk),
        actors.officer.pk,
    )
    status = _status(Biometric.SEARCH_STILL)
    assert (status.deleted, status.confirmed, status.ok) == (2, 2, True)


@pytest.fixture
def custody_template(actors, astronaut, engine_approved) -> CustodyTemplate:
    _subject, image = astronaut_subject(actors.compiler, astronaut, pnc_id="56/000003E")
    assert retrospective.enrol_custody_image(image.pk)
    return CustodyTemplate.objects.get(image=image)


def test_a_custody_template_deleted_with_evidence_reconciles_green(custody_template):
    # The other half of the next test: a deletion searched for by its vector finds nothing when nothing is left, and the
    # custody row of the reconciliation counts it. (That the vector is searched for at all is the next test's.)
    vector = list(custody_template.embedding)
    with transaction.atomic():
        CustodyTemplate.objects.filter(pk=custody_template.pk).delete()
        record_deletion_evidence(
            "custody_template", [custody_template.pk], vectors=[vector], target=custody_template.subject
        )
    (data,) = _evidence(Biometric.CUSTODY_TEMPLATE)
    assert data["ids"] == [custody_template.pk] and data["vectors_searched"] == 1
    status = _status(Biometric.CUSTODY_TEMPLATE)
    assert (status.deleted, status.confirmed, status.ok) == (1, 1, True)


def test_a_copy_of_the_deleted_vector_under_another_id_fails_the_deletion(custody_template):
    vector = list(custody_template.embedding)
    copy = CustodyTemplate.objects.get(pk=custody_template.pk)
    events = Event.objects.count()
    survived = pytest.raises(BiometricSurvived, match="1 of the deleted custody templates survived")
    with survived, transaction.atomic():
        # The row is deleted, but its vector lives on in another row (here: the same image's, re-inserted).
        CustodyTemplate.objects.filter(pk=custody_template.pk).delete()
        copy.pk = None
        copy.save()
        record_deletion_evidence("custody_template", [custody_template.pk], vectors=[vector])
    assert CustodyTemplate.objects.filter(pk=custody_template.pk).exists()  # the whole deletion rolled back
    assert Event.objects.count() == events


def test_evidence_for_a_biometric_still_held_refuses_and_logs_nothing(custody_template):
    with pytest.raises(BiometricSurvived), transaction.atomic():
        record_deletion_evidence("custody_template", [custody_template.pk])
    assert not Event.objects.filter(action="biometric.absence_confirmed").exists()


@pytest.mark.django_db(transaction=True)
def test_the_vacuum_runs_after_commit_and_covers_every_earlier_deletion(actors, ledgered):
    _false_alert_swept(actors, ledgered)  # the outbox runs the VACUUM in this process once the deletion commits
    (vacuumed,) = Event.objects.filter(action="biometric.vacuumed")
    assert vacuumed.data["kind"] == "alert_probe" and vacuumed.data["tables"] == ["matching_alert"]
    assert vacuumed.data["evidence_through"] == deletion_evidence.evidence_of("alert_probe").get().seq
    assert deletion_evidence.vacuum("alert_probe") is None  # nothing new to cover: not run again
    status = _status(Biometric.ALERT_PROBE, timezone.now() + datetime.timedelta(hours=2))
    assert (status.confirmed, status.vacuumed, status.ok) == (1, 1, True)


def test_probes_deleted_before_deletion_evidence_began_are_counted_apart_not_red(actors, ledgered, client, api):
    # An upgraded database: this alert's probe was deleted before the migration that brought deletion evidence, so no
    # evidence exists for it, nor ever can.
    began = deletion_evidence.evidence_began()
    deleted_at = began - datetime.timedelta(days=30)
    Alert.objects.filter(pk=ledgered.alert_id).update(probe_ciphertext=b"", probe_deleted_at=deleted_at)
    status = _status(Biometric.ALERT_PROBE)
    assert (status.deleted, status.confirmed, status.before_evidence, status.problems) == (0, 0, 1, [])
    assert "evidence:alert_probe" not in {finding.key for finding in reconciliation_findings()}
    client.force_login(actors.privacy)
    page = client.get(reverse("oversight:dashboard")).content.decode()
    assert '<td data-before-evidence="1">1</td>' in page
    (row,) = [
        r for r in api(actors.privacy).get("/api/oversight/deletion-evidence/").json() if r["kind"] == "alert_probe"
    ]
    assert (row["deleted"], row["before_evidence"], row["ok"]) == (0, 1, True)
    # The same deletion a minute after the cutover, with no evidence, is red.
    Alert.objects.filter(pk=ledgered.alert_id).update(probe_deleted_at=began + datetime.timedelta(minutes=1))
    status = _status(Biometric.ALERT_PROBE)
    assert (status.before_evidence, status.problems) == (
        0,
        ["1 deleted with no exact search confirming their absence."],
    )


def test_stills_of_a_search_closed_before_deletion_evidence_began_are_counted_apart(actors, astronaut, engine_approved):
    request = retrospective.submit(actors.officer, [astronaut], incident_reference="CAD 8", crime_type="X")
    began = deletion_evidence.evidence_began()
    SearchRequest.objects.filter(pk=request.pk).update(
        state=SearchState.CLOSED, closed_at=began - datetime.timedelta(days=1)
    )
    Probe.objects.filter(request=request).update(ciphertext=None, state=ProbeState.DELETED)
    status = _status(Biometric.SEARCH_STILL)
    assert (status.deleted, status.before_evidence, status.ok) == (0, 1, True)


def test_the_custody_absence_check_reads_neither_table_in_full(custody_template):
    """A million-template gallery cannot be read row by row in a deletion: the check goes through the primary keys and
    the vector hash's index (which the planner is made to prefer here, the test tables being tiny)."""
    vector = list(custody_template.embedding)
    with transaction.atomic(), connection.cursor() as cursor:
        CustodyTemplate.objects.filter(pk=custody_template.pk).delete()
        cursor.execute("SET LOCAL enable_seqscan = off")
        before = _sequential_scans(cursor)
        record_deletion_evidence("custody_template", [custody_template.pk], vectors=[vector])
        assert _sequential_scans(cursor) == before


def _sequential_scans(cursor) -> dict[str, int]:
    cursor.execute(
        "SELECT relname, seq_scan FROM pg_stat_xact_user_tables "
        "WHERE relname IN ('matching_custodytemplate', 'matching_custodyreduced')"
    )
    return dict(cursor.fetchall())


def test_the_vector_hash_is_postgresql_s_for_every_row_however_written(custody_template):
    copy = CustodyTemplate.objects.get(pk=custody_template.pk)
    CustodyTemplate.objects.filter(pk=copy.pk).delete()
    copy.pk = None
    copy.save()  # written as any code would: the hash is not the writer's to give
    copy.refresh_from_db()
    assert bytes(copy.embedding_sha256) == bytes(custody_template.embedding_sha256)
    assert len(bytes(copy.embedding_sha256)) == 32
