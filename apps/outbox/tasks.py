"""The outbox's dispatcher on Celery beat: what the broker missed while it was down is sent once it is back."""

from celery import shared_task

from . import services


@shared_task(name="apps.outbox.tasks.dispatch")
def dispatch() -> int:
    """Send pending messages (at most a few batches a run; beat comes back for the rest)."""
    return services.dispatch(batches=10).sent
