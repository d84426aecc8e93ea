"""The transactional outbox: a Celery task is written in the transaction of the change that calls for it.

`enqueue(task_name, *args)` adds a row to the caller's transaction, and after commit the row is published and marked
sent. If the broker is unreachable the publish gives up at once (one attempt, a short connect timeout: the request
that committed the change must neither fail nor hang) and the row stays pending until the dispatcher sends it:
Celery beat every 30 s, the next message that reaches the broker, or `manage.py outbox_dispatch`. A task queued in
a transaction that rolls back never exists.

Delivery is at least once. A row is claimed with SELECT ... FOR UPDATE SKIP LOCKED (two senders never publish the
same row), published, and marked sent in that transaction; a process that dies between publishing and committing
leaves the row pending, and it is sent again with the same task id. Every task is idempotent
(tests/reliability/test_redelivery.py).

With CELERY_TASK_ALWAYS_EAGER (no broker: the tests, a laptop) the task runs in-process after commit, as `.delay()`
did, and its exception propagates as before.
"""

import datetime
import logging
import re
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from govern.celery import REQUEST_ID_HEADER, app
from govern.request_id import current_request_id

from .models import Message

logger = logging.getLogger(__name__)

# One attempt, no sleeping: the outbox is the retry. kombu applies the policy to connecting as well as to publishing;
# CELERY_BROKER_TRANSPORT_OPTIONS bounds how long one attempt may take (settings, "Outbox").
PUBLISH_RETRY_POLICY = {"max_retries": 0, "interval_start": 0, "interval_step": 0, "interval_max": 0}
BATCH = 100
KEEP_SENT = datetime.timedelta(days=7)
_CREDENTIALS = re.compile(r"//[^/@\s]*@")


@dataclass(frozen=True)
class Dispatched:
    """What a dispatch did: messages sent, still pending, and the broker's refusal if it stopped on one."""

    sent: int
    pending: int
    failed: bool = False
    error: str = ""


def enqueue(task_name: str, *args) -> Message:
    """Queue a Celery task, by its registered name, in the caller's transaction; it is sent after commit, or later
    if the broker is down. A name, not the task: a service need not import the tasks module that calls it back."""
    if task_name not in app.tasks:
        raise LookupError(f"No Celery task is registered as {task_name!r}.")
    message = Message.objects.create(
        task=task_name, args=list(args), queue=_queue_of(task_name, args), request_id=current_request_id()
    )
    transaction.on_commit(partial(_after_commit, message.pk))
    return message


def pending():
    """The messages not yet taken by the broker, oldest first."""
    return Message.objects.filter(sent_at__isnull=True).order_by("pk")


def withdraw(task_name: str, first_args) -> int:
    """Withdraw the pending messages of a task whose first argument is among `first_args` (what they would act on was
    deleted in the caller's transaction). One a sender holds is being published: it is left, and its task, being
    idempotent, finds nothing to do. Returns how many were withdrawn."""
    held = pending().filter(task=task_name, args__0__in=list(first_args)).select_for_update(skip_locked=True)
    deleted, _ = Message.objects.filter(pk__in=list(held.values_list("pk", flat=True))).delete()
    return deleted


def dispatch(batches: int | None = None) -> Dispatched:
    """Send pending messages, a batch per transaction, until none is left, the broker refuses one, or `batches` ran.

    Messages sent more than a week ago are forgotten.
    """
    Message.objects.filter(sent_at__lt=timezone.now() - KEEP_SENT).delete()
    sent, rounds = 0, 0
    while batches is None or rounds < batches:
        rounds += 1
        if _eager():
            claimable = list(pending().values_list("pk", flat=True)[:BATCH])
            done = sum(_run_here(pk, propagate=False) for pk in claimable)
        else:
            with transaction.atomic():
                claimable, done = list(pending().select_for_update(skip_locked=True)[:BATCH]), 0
                for message in claimable:
                    if not _publish(message):
                        return Dispatched(sent + done, pending().count(), failed=True, error=message.last_error)
                    done += 1
        sent += done
        if len(claimable) < BATCH or not done:
            break
    return Dispatched(sent, pending().count())


def _queue_of(name: str, args) -> str:
    """The queue the task's route names (CELERY_TASK_ROUTES), fixed when it is queued."""
    return app.amqp.router.route({}, name, args, {})["queue"].name


def _eager() -> bool:
    return bool(app.conf.task_always_eager)


def _after_commit(pk: int) -> None:
    if _eager():
        _run_here(pk, propagate=True)
    elif _send(pk) and pending().exists():
        # The broker took this message, so it is back: send a batch of what waited for it. (Not when queueing: that
        # is inside the caller's transaction, and would publish work that may still roll back.)
        dispatch(batches=1)


def _send(pk: int) -> bool:
    """Publish one message unless another sender holds it or sent it; True if this call sent it."""
    with transaction.atomic():
        message = Message.objects.select_for_update(skip_locked=True).filter(pk=pk, sent_at__isnull=True).first()
        return message is not None and _publish(message)


def _publish(message: Message) -> bool:
    """Hand a claimed message to the broker and mark it sent; on any failure count the attempt and leave it pending."""
    message.attempts += 1
    headers = {REQUEST_ID_HEADER: str(message.request_id)} if message.request_id else None
    try:
        app.send_task(
            message.task,
            args=message.args,
            queue=message.queue,
            task_id=str(message.task_id),
            headers=headers,
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
        )
    except Exception as exc:  # whatever the broker's client raises, the committed change stands and the row waits
        message.last_error = _describe(exc)
        message.save(update_fields=["attempts", "last_error"])
        logger.warning(
            "Outbox message %s (%s) not sent, attempt %s: %s. It stays pending for the dispatcher.",
            message.pk,
            message.task,
            message.attempts,
            message.last_error,
        )
        return False
    message.sent_at = timezone.now()
    message.save(update_fields=["attempts", "sent_at"])
    return True


def _run_here(pk: int, *, propagate: bool) -> bool:
    """Eager mode: run the task in this process, outside any transaction of the outbox's (a VACUUM needs that)."""
    claimed = Message.objects.filter(pk=pk, sent_at__isnull=True).update(
        sent_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    message = Message.objects.get(pk=pk)
    try:
        app.tasks[message.task].apply_async(args=message.args, queue=message.queue)
    except Exception as exc:
        Message.objects.filter(pk=pk).update(sent_at=None, last_error=_describe(exc))
        if propagate:
            raise
        logger.warning("Outbox message %s (%s) failed in-process: %s", pk, message.task, _describe(exc))
        return False
    return True


def _describe(exc: Exception) -> str:
    """The error in a line, without any credentials a broker URL in it might carry."""
    return _CREDENTIALS.sub("//***@", f"{type(exc).__name__}: {exc}")[:500]
