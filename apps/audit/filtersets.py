"""Filters for the audit log API: every value is validated, an unknown action is a 400."""

import django_filters

from . import registry
from .models import Event


def _action_choices():
    return [(action.name, action.label) for action in registry.all_actions()]


class EventFilterSet(django_filters.FilterSet):
    """Filter events by action, actor, target and time."""

    action = django_filters.ChoiceFilter(choices=_action_choices, label="Action")
    actor = django_filters.CharFilter(field_name="actor_username", max_length=150, label="By (username)")
    target_type = django_filters.CharFilter(max_length=100, label="Record type")
    target_id = django_filters.CharFilter(max_length=64, label="Record id")
    request_id = django_filters.UUIDFilter(label="Request id")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", label="From (ISO 8601)")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label="Until (ISO 8601)")
    after_seq = django_filters.NumberFilter(field_name="seq", lookup_expr="gt", min_value=-1, label="After event #")

    class Meta:
        model = Event
        fields = ["action", "actor", "target_type", "target_id", "request_id", "since", "until", "after_seq"]
