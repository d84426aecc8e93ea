"""Equality monitoring: true and false alerts by the matched subject's self-defined ethnicity and sex, per month.

Every rate is shown beside the counts behind it; a rate over a handful of alerts says little, and the page says so.
"""

from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from apps.matching.choices import AlertState
from apps.matching.models import Alert
from apps.watchlists.choices import Ethnicity, Sex

TRUE_STATES = [AlertState.CONFIRMED, AlertState.ENGAGED, AlertState.CLOSED]
SMALL = 10  # fewer adjudicated alerts than this: the rate is shown but marked as too few to compare


@dataclass
class Cell:
    """Adjudicated alerts of one group: how many were true, how many false."""

    group: str
    label: str
    true: int
    false: int

    @property
    def total(self) -> int:
        return self.true + self.false

    @property
    def false_rate(self) -> float | None:
        """The share of this group's adjudicated alerts that were false; None with no alerts."""
        return self.false / self.total if self.total else None

    @property
    def few(self) -> bool:
        return self.total < SMALL


def _adjudicated(start=None, end=None):
    alerts = Alert.objects.filter(state__in=[*TRUE_STATES, AlertState.FALSE])
    if start:
        alerts = alerts.filter(created_at__gte=start)
    if end:
        alerts = alerts.filter(created_at__lt=end)
    return alerts


_COUNTS = {"true": Count("pk", filter=Q(state__in=TRUE_STATES)), "false": Count("pk", filter=Q(state=AlertState.FALSE))}


def by_group(field: str, start=None, end=None) -> list[Cell]:
    """Totals over the period by subject__ethnicity or subject__sex, largest group first."""
    labels = dict(Ethnicity.choices if field == "ethnicity" else Sex.choices)
    rows = _adjudicated(start, end).values(f"subject__{field}").annotate(**_COUNTS)
    cells = [Cell(r[f"subject__{field}"], labels.get(r[f"subject__{field}"], "?"), r["true"], r["false"]) for r in rows]
    return sorted(cells, key=lambda c: (-c.total, c.group))


def monthly(start=None, end=None) -> list[dict]:
    """Per month, ethnicity and sex: true and false alerts (only groups with alerts)."""
    ethnicities, sexes = dict(Ethnicity.choices), dict(Sex.choices)
    rows = (
        _adjudicated(start, end)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "subject__ethnicity", "subject__sex")
        .annotate(**_COUNTS)
        .order_by("-month", "subject__ethnicity", "subject__sex")
    )
    return [
        {
            "month": row["month"],
            "ethnicity": ethnicities.get(row["subject__ethnicity"], "?"),
            "sex": sexes.get(row["subject__sex"], "?"),
            "cell": Cell("", "", row["true"], row["false"]),
        }
        for row in rows
    ]


def bars(cells: list[Cell], width: int = 320) -> list[dict]:
    """Geometry for a server-drawn horizontal bar chart of false-alert shares (no script, no CDN)."""
    drawn = []
    for index, cell in enumerate(cells):
        rate = cell.false_rate or 0.0
        drawn.append({"cell": cell, "y": index * 22, "width": round(rate * width, 1), "percent": round(rate * 100, 1)})
    return drawn
