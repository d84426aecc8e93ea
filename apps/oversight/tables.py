"""The access log's table (govern/tables.py: sorting, pages alike on every list; its export is the access log's
own, the same CSV and JSON as the API's, logged)."""

import django_tables2 as tables
from django.utils.html import format_html, format_html_join

from apps.audit.models import Event
from govern.tables import ListTable

from . import access_review


class AccessTable(ListTable):
    """Consultations and disclosures, newest first: each record named and linked, each row's flags. Set `rows` (the
    page's flagged rows by event number) and `names` (`access_review.describe`) after paging."""

    seq = tables.Column(verbose_name="#")
    created_at = tables.DateTimeColumn("Y-m-d H:i:s", verbose_name="When")
    kind = tables.Column(accessor="action", verbose_name="Kind", orderable=False)
    actor_username = tables.Column(verbose_name="Reader")
    record = tables.Column(accessor="target_type", verbose_name="Record", order_by=("target_type", "target_id"))
    reason = tables.Column()
    flags = tables.Column(accessor="seq", verbose_name="Flags", orderable=False, empty_values=())

    class Meta(ListTable.Meta):
        model = Event
        fields = ("seq", "created_at", "kind", "actor_username", "record", "reason", "flags")
        row_attrs = {
            "class": lambda table, record: "govuk-table__row flagged" if table.flags_of(record) else "govuk-table__row"
        }
        attrs = {**ListTable.Meta.attrs, "class": "govuk-table access-rows", "id": "access-rows"}
        empty_text = "Nothing matches."

    kept_out_of_links = ""  # here `reason` is a search term, not a consultation's reason: links keep it
    rows: dict[int, access_review.Row] = {}
    names: dict = {}

    def flags_of(self, event) -> list[str]:
        row = self.rows.get(event.seq)
        return row.flags if row else []

    def render_kind(self, record):
        row = self.rows.get(record.seq)
        return row.kind if row else ""

    def render_record(self, record):
        named = access_review.named(self.names, record)
        if named.url:
            return format_html(
                '<a class="govuk-link" href="{}" data-record="{}:{}">{}</a>',
                named.url,
                record.target_type,
                record.target_id,
                named.label,
            )
        return format_html('<span data-record="{}:{}">{}</span>', record.target_type, record.target_id, named.label)

    def render_flags(self, record):
        return format_html_join(
            "; ",
            '<span class="flag" data-flag="{}">{}</span>',
            ((flag, access_review.FLAG_LABELS[flag]) for flag in self.flags_of(record)),
        )
