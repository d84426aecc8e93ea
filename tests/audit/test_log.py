"""The audit log: one event per change in the same transaction, append-only, verifiable, tamper-evident."""

import json

import pytest
from django.db import DatabaseError, connection, transaction

from apps.audit import proofs, registry, services, verifier
from apps.audit.models import Checkpoint, Event, LogHead, TreeNode
from apps.audit.verification import verify

pytestmark = pytest.mark.django_db


def _record(n, actor=None, action="account.update"):
    return [services.record(action, ("tests.thing", i), actor, data={"i": i, "note": "é"}) for i in range(n)]


def _tamper(sql, params=()):
    """Change the log behind the trigger's back, as a database superuser could."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def test_record_writes_every_field_and_hashes_the_canonical_text(actors):
    event = services.record(
        "account.update", actors.admin, actors.privacy, data={"changed": {"unit": [1, 2]}}, reason="moved unit"
    )
    stored = Event.objects.get(seq=event.seq)
    body = json.loads(stored.canonical)
    assert body["action"] == "account.update"
    assert body["actor"] == "privacy" and body["actor_id"] == actors.privacy.pk
    assert body["target_type"] == "accounts.user" and body["target_id"] == str(actors.admin.pk)
    assert body["reason"] == "moved unit"
    assert body["data"] == {"changed": {"unit": [1, 2]}}
    assert body["request_id"] == str(stored.request_id)
    assert bytes(stored.leaf_hash) == verifier.leaf_hash(stored.canonical.encode())
    assert stored.canonical == services.canonical_json(body)
    # The returned event is the stored row, column for column, and Django knows it as saved.
    for field in Event._meta.concrete_fields:
        assert getattr(event, field.attname) == getattr(stored, field.attname), field.name
    assert not event._state.adding and event._state.db == "default"


def test_unknown_action_is_refused_and_writes_nothing():
    before = Event.objects.count()
    with pytest.raises(registry.UnknownAction):
        services.record("watchlist.teleport", None, None)
    assert Event.objects.count() == before


def test_data_that_is_not_json_is_refused():
    with pytest.raises(services.AuditDataError):
        services.record("account.update", None, None, data={"blob": b"\x00"})
    with pytest.raises(services.AuditDataError):
        services.record("account.update", None, None, data={"x": float("nan")})


def test_a_rolled_back_event_leaves_no_event_and_no_gap():
    _record(3)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.record("account.update", None, None, data={"doomed": True})
        raise RuntimeError("the change failed")
    after = services.record("account.update", None, None, data={"kept": True})
    assert after.seq == 3
    assert list(Event.objects.values_list("seq", flat=True)) == [0, 1, 2, 3]
    assert LogHead.objects.get().size == 4
    assert verify().ok


@pytest.mark.parametrize(
    ("table", "column"), [("audit_event", "reason"), ("audit_treenode", "hash"), ("audit_checkpoint", "timestamp")]
)
def test_raw_sql_update_delete_and_truncate_are_refused(table, column):
    _record(4)
    services.sign_checkpoint()
    for statement in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}", f"TRUNCATE {table} CASCADE"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE must not trip over the test's pending checks
            cursor.execute(statement)
    assert Event.objects.count() == 4


def test_orm_update_and_delete_are_refused():
    event = _record(1)[0]
    event.reason = "rewritten"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Event.objects.filter(seq=event.seq).update(reason="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Event.objects.filter(seq=event.seq).delete()
    assert Event.objects.get(seq=event.seq).reason == ""


def test_verify_passes_on_an_intact_log_with_checkpoints():
    _record(5)
    services.sign_checkpoint()
    _record(6)
    services.sign_checkpoint()
    report = verify()
    assert report.ok, report.problems
    assert (report.events, report.checkpoints) == (11, 2)


def test_verify_names_the_event_whose_contents_were_changed():
    _record(10)
    services.sign_checkpoint()
    _tamper("UPDATE audit_event SET canonical = replace(canonical, '\"i\":6', '\"i\":7') WHERE seq = 6")
    report = verify()
    assert not report.ok
    assert report.first_problem.seq == 6
    assert "leaf hash" in report.first_problem.message


def test_verify_names_the_event_whose_column_was_changed():
    _record(10)
    _tamper("UPDATE audit_event SET actor_username = 'somebody_else' WHERE seq = 4")
    report = verify()
    assert report.first_problem.seq == 4
    assert "actor_username" in report.first_problem.message


def test_verify_catches_a_consistent_rewrite_through_the_stored_tree_and_checkpoint():
    _record(8)
    services.sign_checkpoint()
    forged = Event.objects.get(seq=5).canonical.replace('"i":5', '"i":50')
    _tamper(
        "UPDATE audit_event SET canonical = %s, leaf_hash = %s WHERE seq = 5",
        [forged, verifier.leaf_hash(forged.encode())],
    )
    report = verify()
    assert not report.ok
    assert report.first_problem.seq in (4, 5)  # the level-1 node over events 4 and 5 no longer fits
    assert any("checkpoint" in p.message for p in report.problems)


def test_verify_reports_a_deleted_event():
    _record(6)
    _tamper("DELETE FROM audit_event WHERE seq = 2")
    report = verify()
    assert report.first_problem.seq == 2
    assert "missing" in report.first_problem.message


def test_verify_reports_a_forged_checkpoint_signature():
    _record(3)
    checkpoint = services.sign_checkpoint()
    forged = bytes(checkpoint.signature)[:-1] + bytes([checkpoint.signature[-1] ^ 1])
    _tamper("UPDATE audit_checkpoint SET signature = %s WHERE id = %s", [forged, checkpoint.pk])
    report = verify()
    assert any("signature" in p.message for p in report.problems)


def test_verify_reports_a_changed_tree_node():
    _record(8)
    _tamper("UPDATE audit_treenode SET hash = %s WHERE level = 2 AND index = 1", [b"\x00" * 32])
    report = verify()
    assert report.first_problem.seq == 4


def test_sign_checkpoint_is_idempotent_and_signature_verifies():
    from apps.audit import signing

    _record(5)
    first = services.sign_checkpoint()
    again = services.sign_checkpoint()
    assert first.pk == again.pk
    assert Checkpoint.objects.count() == 1
    assert first.origin == signing.log_origin()
    assert verifier.verify_checkpoint(
        signing.public_key_raw(), first.tree_size, bytes(first.root_hash), None, bytes(first.signature), first.origin
    )


def test_tree_nodes_are_stored_as_the_log_grows():
    _record(16)
    assert TreeNode.objects.count() == 15  # 8 + 4 + 2 + 1 perfect nodes above 16 leaves
    assert TreeNode.objects.get(level=4, index=0).hash == proofs.root_at(16)


def test_inclusion_and_consistency_proofs_verify_against_signed_checkpoints():
    _record(13)
    old = services.sign_checkpoint()
    _record(9)
    new = services.sign_checkpoint()
    for seq in range(new.tree_size):
        proof = proofs.inclusion(seq)
        assert proof.tree_size == new.tree_size
        assert verifier.verify_inclusion(seq, new.tree_size, proof.leaf_hash, proof.audit_path, bytes(new.root_hash))
    consistency = proofs.consistency(old.tree_size, new.tree_size)
    assert verifier.verify_consistency(
        old.tree_size, new.tree_size, bytes(old.root_hash), bytes(new.root_hash), consistency.proof
    )


def test_proofs_refuse_sizes_outside_the_log():
    _record(3)
    with pytest.raises(proofs.ProofError):
        proofs.inclusion(5, 3)
    with pytest.raises(proofs.ProofError):
        proofs.inclusion(0, 10)
    with pytest.raises(proofs.ProofError):
        proofs.consistency(3, 2)


def test_events_of_one_unit_of_work_share_a_request_id():
    from govern.request_id import begin_request

    request_id = begin_request()
    first, second = _record(2)
    assert first.request_id == second.request_id == request_id
    begin_request()
    (third,) = _record(1)
    assert third.request_id != request_id


def test_audit_verify_command_exits_non_zero_and_names_the_event():
    from django.core.management import CommandError, call_command

    _record(4)
    call_command("audit", "verify")
    _tamper("UPDATE audit_event SET reason = 'edited' WHERE seq = 3")
    with pytest.raises(CommandError, match="event 3"):
        call_command("audit", "verify")


def test_a_proof_printed_by_the_command_verifies_offline_with_the_standalone_verifier(tmp_path):
    import shutil
    import subprocess
    import sys
    from io import StringIO
    from pathlib import Path

    from django.core.management import call_command

    _record(11)
    services.sign_checkpoint()
    alone = tmp_path / "verifier.py"  # a copy with the notes module only: it must not need Govern or Django
    shutil.copy(Path(verifier.__file__), alone)
    shutil.copy(Path(verifier.__file__).with_name("notes.py"), tmp_path / "notes.py")
    out = StringIO()
    call_command("audit", "proof", "6", stdout=out)
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(out.getvalue())
    result = subprocess.run([sys.executable, "-I", str(alone), str(proof_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert "checkpoint signature" in result.stdout and "C2SP signed note" in result.stdout
    assert "RESULT: OK" in result.stdout

    tampered = json.loads(out.getvalue())
    leaf = tampered["leaf_hash"]
    tampered["leaf_hash"] = f"{int(leaf[:2], 16) ^ 0xFF:02x}{leaf[2:]}"  # its first byte flipped: never the same hash
    proof_file.write_text(json.dumps(tampered))
    result = subprocess.run([sys.executable, "-I", str(alone), str(proof_file)], capture_output=True, text=True)
    assert result.returncode == 1 and "RESULT: FAIL" in result.stdout
