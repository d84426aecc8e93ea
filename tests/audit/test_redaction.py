"""Access-log retention's tombstones: only a consultation, only past the legal minimum, only with a receipt."""

import datetime
import io
import json
import zipfile

import pytest
from django.core import checks
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.audit import services
from apps.audit.checks import check_redaction_floor
from apps.audit.choices import CONSULTATION_ACTION, REDACTED_PREFIX
from apps.audit.models import Event
from apps.audit.verification import verify

pytestmark = pytest.mark.django_db


def _forge_tombstone(seq: int, action: str | None = None) -> None:
    """Rewrite an event into a tombstone shaped exactly as the trigger writes one, with the user triggers disabled (as
    a database superuser could), columns and all, so only the tombstone's right to exist is left to question."""
    event = Event.objects.get(seq=seq)
    body = json.loads(event.canonical)
    action = action or event.action
    body.update(actor_id=None, actor="(redacted)", target_id="", reason="", data={}, action=action)
    text = REDACTED_PREFIX + bytes(event.leaf_hash).hex() + '",' + json.dumps(body, separators=(",", ":"))[1:]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the deferred checks: ALTER TABLE waits for none
        cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE audit_event SET canonical = %s, action = %s, actor_id = NULL, actor_username = '(redacted)', "
            "target_id = '', reason = '' WHERE seq = %s",
            [text, action, seq],
        )
        cursor.execute("ALTER TABLE audit_event ENABLE TRIGGER USER")


def _old_cutoff():
    return timezone.now() + datetime.timedelta(days=1)


@pytest.mark.parametrize("as_consultation", [False, True], ids=["own-action", "posing-as-consultation"])
def test_a_tombstone_over_any_other_event_is_tampering(actors, as_consultation):
    erased = services.record("subject.erase", ("watchlists.subject", 7), actors.privacy, data={"n": 1}, reason="why")
    services.sign_checkpoint()
    assert verify().ok
    _forge_tombstone(erased.seq, CONSULTATION_ACTION if as_consultation else None)
    report = verify()
    assert not report.ok and report.first_problem.seq == erased.seq, report.problems
    assert "tombstone" in report.first_problem.message
    assert not verify(columns=False).ok


def test_a_consultation_tombstoned_without_a_receipt_is_tampering(actors):
    read = services.record_access(("watchlists.subject", 1), actors.officer, "Checking suspect for case X")
    services.sign_checkpoint()
    _forge_tombstone(read.seq)
    report = verify()
    assert [p.seq for p in report.problems] == [read.seq]
    assert "receipt" in report.first_problem.message


def test_a_receipt_covers_only_the_events_it_names_before_it(actors, redaction_floor):
    redaction_floor(0)
    first = services.record_access(("watchlists.subject", 1), actors.officer, "Checking suspect for case X")
    services.redact_consultations(_old_cutoff(), limit=10, retention_hours=1)
    assert verify().ok
    later = services.record_access(("watchlists.subject", 2), actors.officer, "Checking suspect for case Y")
    _forge_tombstone(later.seq)  # no receipt names it: the one before names only the first
    report = verify()
    assert [p.seq for p in report.problems] == [later.seq] and first.seq != later.seq


def test_a_consultation_younger_than_the_legal_minimum_cannot_be_redacted(actors, settings):
    read = services.record_access(("watchlists.subject", 1), actors.officer, "Checking suspect for case X")
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_redaction_floor_days()")
        assert cursor.fetchone()[0] == settings.ACCESS_LOG_MIN_DAYS
    with pytest.raises(DatabaseError, match="cannot be redacted"), transaction.atomic():
        services.redact_consultations(_old_cutoff(), limit=10, retention_hours=1)
    with pytest.raises(DatabaseError, match="cannot be redacted"), transaction.atomic(), connection.cursor() as c:
        c.execute("UPDATE audit_event SET reason = '' WHERE seq = %s", [read.seq])
    row = Event.objects.get(seq=read.seq)
    assert row.canonical == read.canonical and not Event.objects.filter(action="audit.consultations_redacted")


def test_the_floor_lets_an_old_enough_consultation_go(actors, redaction_floor):
    read = services.record_access(("watchlists.subject", 1), actors.officer, "Checking suspect for case X")
    redaction_floor(0)
    assert services.redact_consultations(_old_cutoff(), limit=10, retention_hours=1) == [read.seq]
    assert Event.objects.get(seq=read.seq).canonical.startswith(REDACTED_PREFIX)


def test_a_floor_other_than_the_setting_is_a_system_error(settings, redaction_floor):
    assert check_redaction_floor(databases=["default"]) == []
    redaction_floor(settings.ACCESS_LOG_MIN_DAYS - 1)
    (error,) = check_redaction_floor(databases=["default"])
    assert isinstance(error, checks.Error) and error.id == "audit.E010"


def test_an_evidence_bundle_never_ships_a_forged_tombstone_as_a_withheld_leaf(actors, redaction_floor):
    from apps.oversight import bundles

    redaction_floor(0)
    read = services.record_access(("watchlists.subject", 1), actors.officer, "Checking suspect for case X")
    services.redact_consultations(_old_cutoff(), limit=10, retention_hours=1)
    erased = services.record("subject.erase", ("watchlists.subject", 7), actors.privacy, data={"n": 1}, reason="why")
    services.sign_checkpoint()
    scope = bundles.Scope(start=Event.objects.get(seq=0).created_at, end=timezone.now())
    content, _ = bundles.build(actors.oversight, scope)  # a genuine redaction ships as a withheld leaf
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        lines = [json.loads(line) for line in archive.read("events.jsonl").splitlines()]
    assert lines[read.seq]["withheld"] == "redacted under retention"
    _forge_tombstone(erased.seq)
    with pytest.raises(bundles.BundleError, match=f"event {erased.seq}"):
        bundles.build(actors.oversight, scope)


def test_a_receipt_naming_events_oddly_is_read_past_and_never_stops_the_verification(actors):
    services.record_access(("watchlists.subject", 1), actors.officer, "Checking the suspect for case X")
    odd = {"events": {"0": ["not", "a", "leaf"], "1": {"nor": "this"}}}
    services.record("audit.consultations_redacted", ("audit.event", "redaction"), None, data=odd)
    services.sign_checkpoint()
    assert verify().ok  # the receipt names nothing it could cover, and nothing was tombstoned
