"""Filters for deployments."""

import django_filters

from .choices import DeploymentState
from .models import Deployment


class DeploymentFilterSet(django_filters.FilterSet):
    """Filter deployments by state and period."""

    state = django_filters.MultipleChoiceFilter(choices=DeploymentState.choices)
    starts_after = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="gte")
    starts_before = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="lt")

    class Meta:
        model = Deployment
        fields = ["state", "starts_after", "starts_before"]
