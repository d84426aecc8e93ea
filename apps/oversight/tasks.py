"""Oversight on Celery beat: the hourly retention sweep and the quarter-hourly reconciliation check."""

from celery import shared_task

from . import services


@shared_task(name="apps.oversight.tasks.retention_sweep", acks_late=True)
def retention_sweep() -> int:
    """Delete what is past retention and not held (idempotent); how many items were deleted."""
    return sum(item.count for item in services.retention_sweep() if item.outcome == "deleted")


@shared_task(name="apps.oversight.tasks.check", acks_late=True)
def check() -> int:
    """Raise notifications for what does not reconcile or is overdue; resolve the rest. How many were raised."""
    raised, _ = services.check()
    return len(raised)
