"""The deployments page's table (govern/tables.py: sorting, pages and CSV alike on every list)."""

import django_tables2 as tables

from govern.tables import DateTimeColumn, ListTable, StateColumn

from .models import Deployment


class DeploymentTable(ListTable):
    """Deployments the user may see: where, when, in what state, with which list."""

    reference = tables.Column(linkify=("deployments:detail", [tables.A("pk")]))
    location_name = tables.Column(verbose_name="Place")
    start = DateTimeColumn("Y-m-d H:i", verbose_name="Starts")
    end = DateTimeColumn("Y-m-d H:i", verbose_name="Ends")
    state = StateColumn()
    watchlist = tables.Column(accessor="watchlist__reference", verbose_name="Watchlist", default="")

    class Meta(ListTable.Meta):
        attrs = {**ListTable.Meta.attrs, "class": "govuk-table deployments"}
        model = Deployment
        fields = ("reference", "location_name", "start", "end", "state", "watchlist")
        empty_text = "No deployment you may see matches."
