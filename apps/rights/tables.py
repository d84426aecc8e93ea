"""The desk's table (govern/tables.py: sorting, pages and CSV alike on every list). No requester's name is here:
it is on the request, which asks why it is consulted."""

import django_tables2 as tables
from django.utils import timezone

from govern.tables import DateTimeColumn, ListTable

from .models import RightsRequest


class RequestTable(ListTable):
    """Requests, the overdue first, then by due date; an overdue one is flagged."""

    reference = tables.Column(linkify=("rights:request", [tables.A("pk")]))
    kind = tables.Column(verbose_name="Right")
    state = tables.Column()
    received_at = DateTimeColumn("j M Y", verbose_name="Received")
    due_at = DateTimeColumn("j M Y", verbose_name="Due", attrs={"td": {"class": "due"}})
    extension_months = tables.Column(verbose_name="Extended (months)")
    decision = tables.Column(default="")

    class Meta(ListTable.Meta):
        attrs = {**ListTable.Meta.attrs, "class": "govuk-table requests"}
        model = RightsRequest
        fields = ("reference", "kind", "state", "received_at", "due_at", "extension_months", "decision")
        row_attrs = {
            "class": lambda record: "govuk-table__row overdue" if record.is_overdue else "govuk-table__row",
            "data-request": lambda record: record.reference,
        }
        empty_text = "No request matches."

    def render_due_at(self, value, record):
        due = timezone.localtime(value).strftime("%d %b %Y")
        return f"{due} overdue" if record.is_overdue else due
