"""The audit log's table (govern/tables.py: sorting, pages and CSV alike on every list)."""

import django_tables2 as tables

from govern.tables import DateTimeColumn, ListTable

from .models import Event


class EventTable(ListTable):
    """Events, the newest first: who did what to which record, why, and the leaf hash that proves it is in the log."""

    seq = tables.Column(verbose_name="#")
    created_at = DateTimeColumn("Y-m-d H:i:s", verbose_name="Time")
    action = tables.Column()
    actor_username = tables.Column(verbose_name="By")
    target = tables.Column(accessor="target_type", verbose_name="About", order_by=("target_type", "target_id"))
    reason = tables.Column()
    leaf_hash = tables.Column(verbose_name="Leaf hash", orderable=False, attrs={"td": {"class": "hash"}})

    class Meta(ListTable.Meta):
        attrs = {**ListTable.Meta.attrs, "class": "govuk-table events"}
        model = Event
        fields = ("seq", "created_at", "action", "actor_username", "target", "reason", "leaf_hash")
        empty_text = "No events match."

    def render_target(self, record):
        return f"{record.target_type} {record.target_id}".strip()

    def value_target(self, record):
        return f"{record.target_type}:{record.target_id}" if record.target_type else ""

    def render_leaf_hash(self, value):
        return bytes(value).hex()[:16] + "…"

    def value_leaf_hash(self, value):
        return bytes(value).hex()

    def value_created_at(self, value):
        return value.isoformat()
