"""The outbox app: Celery tasks written in the transaction of the change that calls for them, sent after commit."""

from django.apps import AppConfig


class OutboxConfig(AppConfig):
    """Infrastructure at the bottom, beside audit: any app may queue work through it; it imports no domain app."""

    name = "apps.outbox"
    label = "outbox"
    verbose_name = "Outbox"
