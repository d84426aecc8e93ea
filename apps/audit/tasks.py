"""Periodic work of the audit log (queue `audit`)."""

from celery import shared_task

from . import data_keys, services


@shared_task(name="apps.audit.tasks.sign_checkpoint", acks_late=True)
def sign_checkpoint() -> int:
    """Sign a checkpoint of the log as it stands (idempotent: no new one if nothing was appended)."""
    return services.sign_checkpoint().tree_size


@shared_task(name="apps.audit.tasks.sweep_data_keys", acks_late=True)
def sweep_data_keys() -> int:
    """Shred the key store's leftover files (destroyed keys, orphans); how many."""
    done = data_keys.sweep()
    return len(done.destroyed) + len(done.orphans)
