"""Filters of the matching API: a deployment's frames."""

import django_filters

from govern.api.filters import IntegerFilter

from ..models import Capture


class CaptureFilterSet(django_filters.FilterSet):
    """Frames by deployment and by when they were received."""

    deployment = IntegerFilter(min_value=1, max_value=2**63 - 1, label="Deployment id")
    since = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="gte", label="From (ISO 8601)")
    until = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="lt", label="Until (ISO 8601)")

    class Meta:
        model = Capture
        fields = ["deployment", "since", "until"]
