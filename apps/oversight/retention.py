"""Retention periods per data class: the privacy officers' policy, else the configured default, within the law's
bounds."""

from django.conf import settings

from .models import RetentionPolicy, RetentionReview


def retention_hours(data_class: str) -> int:
    """Hours a data class is kept under the policy in force."""
    hours = RetentionPolicy.objects.filter(data_class=data_class).values_list("hours", flat=True).first()
    return settings.RETENTION_DEFAULT_HOURS[data_class] if hours is None else hours


def bounds_hours(data_class: str) -> tuple[int, int]:
    """The shortest and longest period a policy may set for a class (RETENTION_BOUNDS_DAYS), in hours."""
    low, high = settings.RETENTION_BOUNDS_DAYS[data_class]
    return low * 24, high * 24


def latest_reviews() -> dict[str, RetentionReview]:
    """Each class's latest review of its period, by class (a class never reviewed is missing)."""
    found = {}
    for review in RetentionReview.objects.select_related("reviewed_by").order_by("data_class", "-reviewed_at", "-pk"):
        found.setdefault(review.data_class, review)
    return found
