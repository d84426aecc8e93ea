"""Several processes appending at once still make one contiguous, verifiable tree."""

import os

import pytest
from django.db import connections, transaction

from apps.audit import services
from apps.audit.models import Event, TreeNode
from apps.audit.verification import verify

WRITERS = 4
EVENTS_EACH = 40


def _writer(number: int) -> None:
    """Append events, rolling back every fifth, from a forked process with its own connection."""
    from apps.audit.context import begin_request

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
