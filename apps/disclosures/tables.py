"""The Sarah's Law cases' table (govern/tables.py: sorting, pages and CSV alike on every list). No name of an
applicant, a child or a subject is here: those are on the case, which asks why it is consulted."""

import django_tables2 as tables
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from govern.tables import DateTimeColumn, ListTable

from .models import DisclosureCase

WHEN = "j M Y H:i"


def _clock(record, name: str) -> str:
    """One clock of the case as text: when it falls due, and whether it was met or has run out."""
    for deadline in record.deadlines(timezone.now()):
        if deadline.name == name:
            due = date_format(timezone.localtime(deadline.due), WHEN)
            return f"{due} ✔" if deadline.done_at else (f"{due} overdue" if deadline.overdue else due)
    return "n/a"


class CaseTable(ListTable):
    """Cases, the next deadline first (the completed after them, the latest first); an overdue one is flagged."""

    reference = tables.Column(linkify=("disclosures:case", [tables.A("pk")]))
    route = tables.Column()
    stage = tables.Column()
    officer_in_charge = tables.Column(
        accessor="officer_in_charge__username", order_by=("officer_in_charge__last_name",), verbose_name="Officer"
    )
    checks_due = tables.Column(
        accessor="checks_due_at", verbose_name="Checks (24 h)", attrs={"td": {"class": "checks-due"}}
    )
    meeting_due = tables.Column(
        accessor="meeting_due_at",
        verbose_name="Meeting (10 days)",
        empty_values=(),
        attrs={"td": {"class": "meeting-due"}},
    )
    case_due = tables.Column(accessor="case_due_at", verbose_name="Case (45 days)", attrs={"td": {"class": "case-due"}})
    next_due = tables.Column(verbose_name="Next due", empty_values=(), attrs={"td": {"class": "next-due"}})
    completed_at = DateTimeColumn("j M Y", verbose_name="Completed", default="")

    class Meta(ListTable.Meta):
        attrs = {**ListTable.Meta.attrs, "class": "govuk-table cases"}
        model = DisclosureCase
        fields = ("reference", "route", "stage")
        sequence = ("reference", "route", "stage", "officer_in_charge", "checks_due", "meeting_due", "case_due",
                    "next_due", "completed_at")  # fmt: skip
        row_attrs = {
            "class": lambda record: "govuk-table__row overdue" if record.is_overdue else "govuk-table__row",
            "data-case": lambda record: record.reference,
        }
        empty_text = "No case you may see matches."

    def render_stage(self, record):
        return record.stage_label

    def value_stage(self, record):
        return record.stage_label

    def render_officer_in_charge(self, record):
        officer = record.officer_in_charge
        return officer.get_full_name() or officer.username

    def value_officer_in_charge(self, record):
        return self.render_officer_in_charge(record)

    def _flagged(self, text: str):
        if text.endswith(" overdue"):
            return format_html('{} <span class="flag">overdue</span>', text.removesuffix(" overdue"))
        return text

    def render_checks_due(self, record):
        return self._flagged(_clock(record, "checks"))

    def value_checks_due(self, record):
        return _clock(record, "checks")

    def render_meeting_due(self, record):
        return self._flagged(_clock(record, "meeting"))

    def value_meeting_due(self, record):
        return _clock(record, "meeting")

    def render_case_due(self, record):
        return self._flagged(_clock(record, "case"))

    def value_case_due(self, record):
        return _clock(record, "case")

    def render_next_due(self, record):
        if record.next_due is None:
            return ""
        due = date_format(timezone.localtime(record.next_due), WHEN)
        flag = format_html_join("", ' <strong class="flag">{}</strong>', [("OVERDUE",)] if record.is_overdue else [])
        return format_html("{}{}", due, flag)

    def value_next_due(self, record):
        if record.next_due is None:
            return ""
        due = date_format(timezone.localtime(record.next_due), WHEN)
        return f"{due} OVERDUE" if record.is_overdue else due
