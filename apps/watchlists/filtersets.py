"""Filters for subjects and watchlists."""

import django_filters
from django.db.models import Q

from .choices import WatchlistState
from .models import Subject, Watchlist


class SubjectFilterSet(django_filters.FilterSet):
    """Search the gallery by name, PNC ID or date of birth."""

    q = django_filters.CharFilter(method="search", max_length=100, label="Name or PNC ID")
    pnc_id = django_filters.CharFilter(max_length=20)
    date_of_birth = django_filters.DateFilter()

    class Meta:
        model = Subject
        fields = ["q", "pnc_id", "date_of_birth"]

    def search(self, queryset, name, value):
        terms = value.split()
        for term in terms:
            queryset = queryset.filter(
                Q(family_name__icontains=term) | Q(given_names__icontains=term) | Q(pnc_id__iexact=term)
            )
        return queryset


class WatchlistFilterSet(django_filters.FilterSet):
    """Filter watchlists by state and period."""

    state = django_filters.MultipleChoiceFilter(choices=WatchlistState.choices)
    starts_after = django_filters.IsoDateTimeFilter(field_name="intended_start", lookup_expr="gte")
    starts_before = django_filters.IsoDateTimeFilter(field_name="intended_start", lookup_expr="lt")
    reference = django_filters.CharFilter(max_length=32)

    class Meta:
        model = Watchlist
        fields = ["state", "starts_after", "starts_before", "reference"]
