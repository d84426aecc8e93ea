"""Filters of the requests desk: by right, state, and whether the month has run out."""

import django_filters

from govern.filters import FlagFilter

from .choices import RequestKind, RequestState
from .models import RightsRequest


class RequestFilterSet(django_filters.FilterSet):
    """Filter requests by right, state, and whether they are overdue."""

    kind = django_filters.ChoiceFilter(choices=RequestKind.choices)
    state = django_filters.MultipleChoiceFilter(choices=RequestState.choices)
    overdue = FlagFilter(field_name="is_overdue", label="Past its month (true or false)")

    class Meta:
        model = RightsRequest
        fields = ["kind", "state", "overdue"]
