"""Retention periods per data class: the privacy officers' policy, else the configured default, within the law's
bounds."""

from django.conf import settings

from .models import RetentionPolicy, RetentionReview


def retention_hours(data_class: str) -> int:
    """Hours a data class is kept under the policy in force, held within the law's bounds: a policy stored before the
    bounds were (or when they were looser) never applies outside them; `policies_out_of_bounds` names it instead."""
    return _in_force(
        data_class, RetentionPolicy.objects.filter(data_class=data_class).values_list("hours", flat=True).first()
    )


def every_retention_hours(data_classes) -> dict[str, int]:
    """`retention_hours` of each data class, from one read of the stored policies (the dashboard shows every class)."""
    stored = dict(RetentionPolicy.objects.values_list("data_class", "hours"))
    return {data_class: _in_force(data_class, stored.get(data_class)) for data_class in data_classes}


def _in_force(data_class: str, stored: int | None) -> int:
    hours = settings.RETENTION_DEFAULT_HOURS[data_class] if stored is None else stored
    low, high = bounds_hours(data_class)
    return min(max(hours, low), high)


def policies_out_of_bounds() -> list[tuple[str, int, int, int]]:
    """Each stored policy outside its class's bounds: (class, stored hours, lowest, highest), for the privacy officers
    to set again; meanwhile the nearer bound applies."""
    found = []
    for data_class, hours in RetentionPolicy.objects.order_by("data_class").values_list("data_class", "hours"):
        low, high = bounds_hours(data_class)
        if not low <= hours <= high:
            found.append((data_class, hours, low, high))
    return found


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
