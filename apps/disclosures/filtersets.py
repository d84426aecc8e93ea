"""Filters for Sarah's Law cases."""

import django_filters

from govern.filters import FlagFilter

from .choices import Route, Stage
from .models import DisclosureCase


class CaseFilterSet(django_filters.FilterSet):
    """Filter cases by stage, route, and whether a clock has run out."""

    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices)
    route = django_filters.ChoiceFilter(choices=Route.choices)
    overdue = FlagFilter(field_name="is_overdue", label="Past a deadline (true or false)")

    class Meta:
        model = DisclosureCase
        fields = ["stage", "route", "overdue"]
