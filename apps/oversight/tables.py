"""The access log's table (govern/tables.py: sorting, pages alike on every list; its export is the access log's
own, the same CSV and JSON as the API's, logged)."""

import django_tables2 as tables
from django.conf import settings
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from apps.audit.models import Event
from govern.tables import DateTimeColumn, ListTable

from . import access_review


class AccessTable(ListTable):
    """Consultations and disclosures, newest first: each record named and linked, each row's flags. Set `rows` (the
    page's flagged rows by event number) and `names` (`access_review.describe`) after paging."""

    seq = tables.Column(verbose_name="#")
    created_at = DateTimeColumn("Y-m-d H:i:s", verbose_name="When")
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


def whole(number: int) -> str:
    """A count as a template writes it: `localize` groups thousands only when USE_THOUSAND_SEPARATOR is on, and
    is otherwise `str` at many times the cost."""
    return localize(number) if settings.USE_THOUSAND_SEPARATOR else str(number)


def reader_rows(readers: list[access_review.Reader]):
    """The readers' table's rows (a few hundred at a force's scale), as the template's loop wrote them, in one pass:
    the loop's lookups and conditions were a large share of the access log's page."""
    return format_html_join(
        "",
        '<tr class="govuk-table__row{}" data-reader="{}"><td class="govuk-table__cell">{}</td>'
        '<td class="govuk-table__cell">{}</td><td class="govuk-table__cell">{}</td>'
        '<td class="govuk-table__cell">{}</td><td class="govuk-table__cell peer-median">{}</td>'
        '<td class="govuk-table__cell">{}{}</td></tr>',
        (
            (
                " flagged" if reader.heavy else "",
                reader.actor,
                reader.actor,
                reader.duty,
                whole(reader.reads),
                whole(reader.peers),
                "no peer: not compared" if reader.peer_median is None else reader.peer_median_shown,
                "\N{EN DASH}" if reader.bar is None else reader.bar_shown,
                HEAVY_FLAG if reader.heavy else "",
            )
            for reader in readers
        ),
    )


HEAVY_FLAG = mark_safe(' <span class="flag" data-flag="heavy_reader">heavy reader</span>')
