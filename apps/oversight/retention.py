"""Retention periods per data class: the privacy officers' policy, else the configured default."""

from django.conf import settings

from .models import RetentionPolicy


def retention_hours(data_class: str) -> int:
    """Hours a data class is kept under the policy in force."""
    hours = RetentionPolicy.objects.filter(data_class=data_class).values_list("hours", flat=True).first()
    return settings.RETENTION_DEFAULT_HOURS[data_class] if hours is None else hours


def minimum_hours(data_class: str) -> int:
    """The shortest period a policy may set: access logs never below their own legal period."""
    return settings.ACCESS_LOG_MIN_DAYS * 24 if data_class == "access_logs" else 0
