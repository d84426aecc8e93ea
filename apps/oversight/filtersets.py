"""The access log page's filters: the API's search (`access_review.search`, the one rule both use), and a person
found by name or PNC ID as well as by number."""

import django_filters
from django import forms
from django.core.validators import RegexValidator

from apps.audit.models import Event

from . import access_review

RECORD = RegexValidator(r"^[a-z_]+\.[a-z_]+:[\w-]+$", "Name a record as type:id, e.g. matching.alert:12.")
WHEN = {"type": "datetime-local"}


class AccessFilterSet(django_filters.FilterSet):
    """Consultations and disclosures by person, record, reader, time and reason; the flagged ones only if asked. The
    rows are `access_review.search`'s; set `people` (the subjects a name found) and `heavy` before reading `qs`."""

    person = django_filters.CharFilter(
        method="by_search", max_length=100, label="Person: name, PNC ID or subject number"
    )
    record = django_filters.CharFilter(
        method="by_search", max_length=120, validators=[RECORD], label="Record", help_text="e.g. matching.alert:12"
    )
    actor = django_filters.CharFilter(method="by_search", max_length=150, label="Reader (username)")
    start = django_filters.IsoDateTimeFilter(method="by_search", widget=forms.DateTimeInput(attrs=WHEN), label="From")
    end = django_filters.IsoDateTimeFilter(method="by_search", widget=forms.DateTimeInput(attrs=WHEN), label="Until")
    reason = django_filters.CharFilter(method="by_search", max_length=200, label="Reason contains")
    flagged_only = django_filters.BooleanFilter(method="by_search", widget=forms.CheckboxInput, label="Flagged only")

    class Meta:
        model = Event
        fields = ["person", "record", "actor", "start", "end", "reason", "flagged_only"]

    people: tuple[int, ...] | None = None
    heavy: dict[str, int] | None = None

    def by_search(self, queryset, name, value):
        return queryset  # every field is the search's, applied at once in filter_queryset

    def person_words(self) -> str:
        """The person asked for by name or PNC ID (blank when by number, or not at all)."""
        person = (self.form.cleaned_data.get("person") or "").strip()
        return "" if person.isdigit() else person

    @property
    def chosen(self) -> access_review.AccessFilter:
        """The search the form asks for, as the API's AccessFilter."""
        data = self.form.cleaned_data
        person = (data.get("person") or "").strip()
        return access_review.AccessFilter(
            person=int(person) if person.isdigit() and len(person) <= 18 else None,
            people=self.people if person and not person.isdigit() else None,
            record=data.get("record") or "",
            actor=data.get("actor") or "",
            start=data.get("start"),
            end=data.get("end"),
            reason=data.get("reason") or "",
            flagged_only=bool(data.get("flagged_only")),
        )

    def filter_queryset(self, queryset):
        return access_review.search(self.chosen, self.heavy)
