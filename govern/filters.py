"""Filters every list shares, beside django-filter's own.

Part of the kernel: it imports no app.
"""

import django_filters
from django import forms
from django.core.exceptions import ValidationError


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
