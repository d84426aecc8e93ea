"""Periodic work of the audit log (queue `audit`)."""

from celery import shared_task
from django.db import transaction

from . import data_keys, services, witnessing


@shared_task(name="apps.audit.tasks.sign_checkpoint", acks_late=True)
def sign_checkpoint() -> int:
    """Sign a checkpoint of the log as it stands (idempotent: no new one if nothing was appended), then ask the
    witnesses to cosign it at once, not at the next beat: a checkpoint is cosigned seconds after it is signed."""
    size = services.sign_checkpoint().tree_size
    if witnessing.configured():
        transaction.on_commit(witness_checkpoint.delay)
    return size


@shared_task(
    name="apps.audit.tasks.witness_checkpoint",
    acks_late=True,
    autoretry_for=(witnessing.WitnessUnreachable,),
    retry_backoff=2,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=10,
)
def witness_checkpoint() -> dict[str, str]:
    """Submit the latest checkpoint to every witness that has not cosigned it (each answer logged); a witness that
    cannot be reached is retried with backoff, and beat submits again whatever is still unwitnessed."""
    return {answer.witness: answer.outcome for answer in witnessing.witness_latest()}


@shared_task(name="apps.audit.tasks.sweep_data_keys", acks_late=True)
def sweep_data_keys() -> int:
    """Shred the key store's leftover files (destroyed keys, orphans); how many."""
    done = data_keys.sweep()
    return len(done.destroyed) + len(done.orphans)
