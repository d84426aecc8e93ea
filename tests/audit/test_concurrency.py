"""Several processes appending at once still make one contiguous, verifiable tree; verify's second connection reads
the same snapshot as its first."""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction

from apps.audit import services
from apps.audit.models import Event, TreeNode
from apps.audit.verification import _column_check_beside, verify

WRITERS = 4
EVENTS_EACH = 40


def _writer(number: int) -> None:
    """Append events, rolling back every fifth, from a forked process with its own connection."""
    from govern.request_id import begin_request

    begin_request()
    for i in range(EVENTS_EACH):
        try:
            with transaction.atomic():
                services.record("account.update", ("tests.writer", number), None, data={"writer": number, "i": i})
                if i % 5 == 4:
                    raise RuntimeError("roll back")
        except RuntimeError:
            pass
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_from_several_processes_produce_one_contiguous_tree():
    services.record("account.update", None, None, data={"start": True})
    connections.close_all()  # each child opens its own connection
    children = []
    for number in range(WRITERS):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _writer(number)
            except BaseException:
                code = 1
            os._exit(code)
        children.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in children]
    assert all(os.waitstatus_to_exitcode(status) == 0 for status in statuses)

    kept_each = EVENTS_EACH - EVENTS_EACH // 5
    expected = 1 + WRITERS * kept_each
    assert list(Event.objects.order_by("seq").values_list("seq", flat=True)) == list(range(expected))
    for number in range(WRITERS):
        assert Event.objects.filter(target_type="tests.writer", target_id=str(number)).count() == kept_each
    assert TreeNode.objects.count() == expected - bin(expected).count("1")
    services.sign_checkpoint()
    report = verify()
    assert report.ok, report.problems


def _tamper_and_commit(seq: int, username: str) -> None:
    """Change an event's column behind the trigger's back, as a superuser could, and commit it."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("UPDATE audit_event SET actor_username = %s WHERE seq = %s", [username, seq])
    finally:
        connection.close()


def _in_a_thread(function, *args):
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


@pytest.mark.django_db(transaction=True)
def test_verify_checks_columns_on_a_second_connection_in_its_own_snapshot():
    """Outside a transaction, verify runs the column check beside the hashing on another connection. It must name a
    changed column there, and see the log as of verify's snapshot: a change committed after it is not its concern."""
    for i in range(12):
        services.record("account.update", ("tests.thing", i), None, data={"i": i})
    _in_a_thread(_tamper_and_commit, 4, "somebody_else")
    report = verify()
    assert [(p.seq, "actor_username" in p.message) for p in report.problems] == [(4, True)]

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        _in_a_thread(_tamper_and_commit, 9, "later_change")  # committed after the snapshot was taken
        found = _in_a_thread(_column_check_beside, snapshot)
    assert [p.seq for p in found.problems] == [4]
    assert [p.seq for p in verify().problems] == [4, 9]
    with pytest.raises(ValueError, match="snapshot"):
        _column_check_beside("1'; DROP TABLE audit_event; --")
