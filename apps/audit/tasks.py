"""Periodic work of the audit log (queue `audit`)."""

from celery import shared_task

from . import services


@shared_task(name="apps.audit.tasks.sign_checkpoint", acks_late=True)
def sign_checkpoint() -> int:
    """Sign a checkpoint of the log as it stands (idempotent: no new one if nothing was appended)."""
    return services.sign_checkpoint().tree_size
