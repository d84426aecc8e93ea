"""Scheduled work of the watchlists app."""

from celery import shared_task

from .services import watchlists


@shared_task(name="apps.watchlists.tasks.sweep", acks_late=True)
def sweep() -> int:
    """Run the watchlist sweep (idempotent); returns how many actions it took."""
    return len(watchlists.sweep())
