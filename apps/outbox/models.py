"""A task waiting to reach the broker: written with the change that calls for it, marked when the broker took it."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Message(models.Model):
    """One Celery task to send: pending until `sent_at` is set; sent at least once, so every task is idempotent."""

    task = models.CharField(max_length=200, help_text="The registered Celery task name.")
    args = models.JSONField(default=list, help_text="Positional arguments (ids and hashes, never personal data).")
    queue = models.CharField(max_length=100)
    task_id = models.UUIDField(default=uuid.uuid4, help_text="Sent as the Celery task id, the same on every resend.")
    request_id = models.UUIDField(null=True, help_text="The request that queued it, carried to the task's events.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["id"], name="outbox_pending", condition=Q(sent_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)} ({'sent' if self.sent_at else 'pending'})"
