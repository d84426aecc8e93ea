"""Filters for deployments."""

import django_filters
from django.db.models import Q
from django.utils import timezone

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


class DeploymentPageFilterSet(DeploymentFilterSet):
    """The deployments page's filters: the API's, and whether the deployment is still to end or has ended, and words
    of its reference or place."""

    when = django_filters.ChoiceFilter(
        choices=[("current", "Upcoming and live"), ("past", "Ended")], method="filter_when", label="When"
    )
    q = django_filters.CharFilter(method="filter_words", max_length=100, label="Reference or place contains")

    class Meta(DeploymentFilterSet.Meta):
        fields = ["q", "when", "state", "starts_after", "starts_before"]

    def filter_when(self, queryset, name, value):
        now = timezone.now()
        return queryset.filter(end__gt=now) if value == "current" else queryset.filter(end__lte=now)

    def filter_words(self, queryset, name, value):
        return queryset.filter(Q(reference__icontains=value) | Q(location_name__icontains=value))
