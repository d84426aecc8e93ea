"""Filters for alerts and retrospective searches (the pages'; the alerts API asks the selector by state alike)."""

import django_filters
from django.db.models import Case, IntegerField, Q, Value, When

from .choices import AlertState, SearchState
from .models import Alert, CameraCredential, SearchRequest


def pending_first(queryset):
    """Alerts awaiting judgement before every other state (alphabetically "pending" sorts after "closed",
    "confirmed" and "false"), then the newest: the order an officer works the queue in."""
    return queryset.annotate(
        pending_rank=Case(When(state=AlertState.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("pending_rank", "-created_at", "-pk")


class AlertFilterSet(django_filters.FilterSet):
    """A deployment's alerts by state and time. The state is the selector's to apply (and log); the times here."""

    state = django_filters.ChoiceFilter(choices=AlertState.choices, method="by_selector", label="State")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", label="From (ISO 8601)")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label="Until (ISO 8601)")

    class Meta:
        model = Alert
        fields = ["state", "since", "until"]

    def by_selector(self, queryset, name, value):
        return queryset  # matching.selectors.alerts filters by state, so the consultation logs the state asked for


class SearchFilterSet(django_filters.FilterSet):
    """Retrospective searches by words of their references or crime, state and when they were submitted."""

    q = django_filters.CharFilter(method="words", max_length=100, label="Reference, incident or crime contains")
    state = django_filters.ChoiceFilter(choices=SearchState.choices, label="State")
    submitted_after = django_filters.IsoDateTimeFilter(
        field_name="submitted_at", lookup_expr="gte", label="Submitted from (ISO 8601)"
    )
    submitted_before = django_filters.IsoDateTimeFilter(
        field_name="submitted_at", lookup_expr="lt", label="Submitted before (ISO 8601)"
    )

    class Meta:
        model = SearchRequest
        fields = ["q", "state", "submitted_after", "submitted_before"]

    def words(self, queryset, name, value):
        return queryset.filter(
            Q(reference__icontains=value) | Q(incident_reference__icontains=value) | Q(crime_type__icontains=value)
        )


class CameraCredentialFilterSet(django_filters.FilterSet):
    """A van's or camera's credentials, in force or revoked."""

    asset = django_filters.NumberFilter(field_name="asset_id", help_text="The van's or camera's id.")
    revoked = django_filters.BooleanFilter(
        field_name="revoked_at", lookup_expr="isnull", exclude=True, help_text="true: revoked only; false: in force."
    )

    class Meta:
        model = CameraCredential
        fields = ["asset", "revoked"]
