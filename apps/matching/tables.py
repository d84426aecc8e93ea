"""The alert queue's and the retrospective searches' tables (govern/tables.py: sorting, pages and CSV alike)."""

import django_tables2 as tables
from django.utils.html import format_html

from govern.tables import DateTimeColumn, ListTable, StateColumn

from .choices import SearchState
from .models import Alert, SearchRequest


class AlertTable(ListTable):
    """A deployment's alerts, pending first then the newest: the page's index of the alerts it shows below, and the
    columns of a CSV export (personal data: the export is logged as a consultation, with every id exported)."""

    created_at = DateTimeColumn("Y-m-d H:i:s", verbose_name="Time")
    subject = tables.Column(order_by=("subject__family_name", "subject__given_names"), verbose_name="Watchlist subject")
    score = tables.Column()
    threshold = tables.Column()
    state = StateColumn(order_by=("pending_rank", "state"))
    outcome = tables.Column(empty_values=(), default="")
    adjudicated_by = tables.Column(accessor="adjudicated_by__username", verbose_name="Judged by", default="")

    class Meta(ListTable.Meta):
        attrs = {**ListTable.Meta.attrs, "class": "govuk-table alerts"}
        model = Alert
        fields = ("created_at", "subject", "score", "threshold", "state", "outcome", "adjudicated_by")
        empty_text = "No alert matches."

    def render_created_at(self, value, record):
        return format_html(
            '<a class="govuk-link" href="#alert-{}">{}</a>', record.pk, value.strftime("%Y-%m-%d %H:%M:%S")
        )

    def render_score(self, value):
        return f"{value:.3f}"

    def value_created_at(self, value):
        return value.isoformat()


class SearchTable(ListTable):
    """Retrospective searches: a retail partner's own only (the rows come restricted)."""

    reference = tables.Column(linkify=("matching:search", [tables.A("pk")]))
    incident_reference = tables.Column(verbose_name="Incident")
    crime_type = tables.Column(verbose_name="Crime")
    state = StateColumn()
    progress = tables.Column(accessor="processed", verbose_name="Progress", orderable=False)
    submitted_at = DateTimeColumn("Y-m-d H:i", verbose_name="Submitted")
    submitted_by = tables.Column(accessor="submitted_by__username", verbose_name="Submitted by")

    class Meta(ListTable.Meta):
        attrs = {**ListTable.Meta.attrs, "class": "govuk-table searches"}
        model = SearchRequest
        fields = ("reference", "incident_reference", "crime_type", "state", "progress", "submitted_at", "submitted_by")
        empty_text = "No search matches."

    reviewer = True  # whether the reader may review candidates; a retail partner may not (set by the view)

    def render_state(self, value, record):
        # A search whose every still was refused has nothing to review: say so, as its page does.
        shown = record.status_for(self.reviewer) if record.state == SearchState.READY else value
        return format_html('<span class="state state-{}">{}</span>', record.state, shown)

    def value_state(self, value, record):
        return record.status_for(self.reviewer) if record.state == SearchState.READY else value

    def render_progress(self, record):
        return f"{record.processed}/{record.total}"

    def value_progress(self, record):
        return f"{record.processed}/{record.total}"
