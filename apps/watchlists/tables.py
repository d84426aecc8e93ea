"""The watchlists' and the subject search's tables (govern/tables.py: sorting, pages and CSV alike on every list)."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from govern.tables import DateColumn, DateTimeColumn, ListTable, StateColumn

from .models import Subject, Watchlist


class WatchlistTable(ListTable):
    """The lists a user may see; no one on them is named here."""

    reference = tables.Column(linkify=("watchlists:detail", [tables.A("pk")]))
    purpose = tables.Column()
    intended_start = DateTimeColumn("Y-m-d H:i", verbose_name="Starts")
    intended_end = DateTimeColumn("Y-m-d H:i", verbose_name="Ends")
    state = StateColumn()
    version = tables.Column()
    compiled_by = tables.Column(accessor="compiled_by__username", verbose_name="Compiled by")

    class Meta(ListTable.Meta):
        attrs = {**ListTable.Meta.attrs, "class": "govuk-table watchlists"}
        model = Watchlist
        fields = ("reference", "purpose", "intended_start", "intended_end", "state", "version", "compiled_by")
        empty_text = "No watchlist you may see matches."

    def render_purpose(self, value):
        return value if len(value) <= 80 else value[:79] + "…"

    def value_purpose(self, value):
        return value


class SubjectTable(ListTable):
    """A subject search's finds (personal data: the page shows it after a reason, and the read is logged)."""

    family_name = tables.Column(verbose_name="Family name")
    given_names = tables.Column(verbose_name="Given names")
    date_of_birth = DateColumn("Y-m-d", verbose_name="Born")
    pnc_id = tables.Column(verbose_name="PNC ID", empty_values=())
    registered_sex_offender = tables.Column(verbose_name="Sex offender register")
    images = tables.Column(accessor="pk", verbose_name="Images", orderable=False)

    class Meta(ListTable.Meta):
        attrs = {**ListTable.Meta.attrs, "class": "govuk-table subjects"}
        model = Subject
        fields = ("family_name", "given_names", "date_of_birth", "pnc_id", "registered_sex_offender", "images")
        empty_text = "No match."

    def __init__(self, *args, may_add_image: bool = False, **kwargs):
        self.may_add_image = may_add_image
        super().__init__(*args, **kwargs)

    def render_registered_sex_offender(self, value):
        return format_html('<span class="flag">Registered</span>') if value else "No"

    def value_registered_sex_offender(self, value):
        return "Registered" if value else "No"

    def render_images(self, record):
        count = len(record.images.all())
        if not self.may_add_image:
            return count
        upload = reverse("watchlists:image-upload", args=[record.pk])
        change = reverse("watchlists:subject-change", args=[record.pk])
        return format_html(
            '{} <a class="govuk-link" href="{}">add image</a> · <a class="govuk-link" href="{}">correct details</a>',
            count,
            upload,
            change,
        )

    def value_images(self, record):
        return len(record.images.all())
