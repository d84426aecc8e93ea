"""Scheduled work of the deployments app."""

from celery import shared_task

from . import services


@shared_task(name="apps.deployments.tasks.run_schedule", acks_late=True)
def run_schedule() -> int:
    """Run the deployment schedule (idempotent); returns how many actions it reported."""
    return len(services.run_schedule())
