"""Filters for Sarah's Law cases."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from .choices import Route, Stage
from .models import DisclosureCase


class _Flag(forms.Field):
    """true or false (1 or 0), read strictly: django-filter's own boolean reads `overdue=ture` as no filter at all,
    and the answer would list every case as if they were the overdue ones."""

    WORDS = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        word = str(value).strip().lower()
        if word not in self.WORDS:
            raise ValidationError("Give true or false.")
        return self.WORDS[word]


class FlagFilter(django_filters.BooleanFilter):
    """A true/false filter that refuses anything else (a 400), rather than ignoring it."""

    field_class = _Flag

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class CaseFilterSet(django_filters.FilterSet):
    """Filter cases by stage, route, and whether a clock has run out."""

    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices)
    route = django_filters.ChoiceFilter(choices=Route.choices)
    overdue = FlagFilter(field_name="is_overdue", label="Past a deadline (true or false)")

    class Meta:
        model = DisclosureCase
        fields = ["stage", "route", "overdue"]
