"""Equality monitoring: true and false alerts by the person the alert concerned, as the officer perceived them.

A false alert flagged someone who is not the listed subject, so the groups are those of the person the camera saw
(perceived sex, age band and broad ethnic group, recorded at judgement or at the stop), never the subject's; the NPL
2023 study reports its rates the same way. An alert found false only after the person was stopped is a false alert.

Figures are kept apart per engine and threshold (a rate means something only for the engine and threshold that
produced it). Each rate has a 95 % Wilson score interval; counts of 1 to 4 are suppressed and rates over fewer than
SMALL alerts withheld, as official statistics publish them; false alerts are also given per 1,000 faces processed
under that engine and threshold. A group whose false-alert rate stands above everyone else's, beyond its interval,
is a finding: it raises an oversight notification and marks the threshold for review.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from apps.matching.choices import AgeBand, AlertState, EthnicGroup, PerceivedSex
from apps.matching.models import FALSE_ALERTS, TRUE_ALERTS, Alert, DeletionReceipt

SUPPRESS_BELOW = 5  # a count of 1 to 4 is shown as "fewer than 5"
SMALL = 10  # fewer adjudicated alerts than this in a group: no rate, no interval, no comparison
Z = 1.959964  # the normal quantile of a two-sided 95 % interval
NOT_RECORDED = "not_recorded"
DIMENSIONS = {
    "perceived_ethnicity": ("Ethnic group (perceived)", EthnicGroup),
    "perceived_sex": ("Sex (perceived)", PerceivedSex),
    "perceived_age": ("Age band (perceived)", AgeBand),
}
_COUNTS = {"true": Count("pk", filter=TRUE_ALERTS), "false": Count("pk", filter=FALSE_ALERTS)}


def wilson(successes: int, trials: int) -> tuple[float, float] | None:
    """The 95 % Wilson score interval of a proportion (None with no trials)."""
    if not trials:
        return None
    p = successes / trials
    centre = p + Z * Z / (2 * trials)
    spread = Z * math.sqrt(p * (1 - p) / trials + Z * Z / (4 * trials * trials))
    denominator = 1 + Z * Z / trials
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


def suppressed(count: int) -> bool:
    return 0 < count < SUPPRESS_BELOW


def published(count: int) -> int | None:
    """A count as published: None (1 to 4, suppressed) or the count."""
    return None if suppressed(count) else count


def shown(count: int) -> str:
    """A count as written on a page: 1 to 4 suppressed."""
    return f"fewer than {SUPPRESS_BELOW}" if suppressed(count) else f"{count:,}"


@dataclass
class Cell:
    """Adjudicated alerts of one group under one engine and threshold: how many were true, how many false."""

    group: str
    label: str
    true: int
    false: int
    faces: int = 0  # faces processed under the engine and threshold (the denominator of the per-1,000 rate)

    @property
    def total(self) -> int:
        return self.true + self.false

    @property
    def few(self) -> bool:
        return self.total < SMALL

    @property
    def false_rate(self) -> float | None:
        """The share of this group's adjudicated alerts that were false; None when too few to say."""
        return None if self.few else self.false / self.total

    @property
    def interval(self) -> tuple[float, float] | None:
        return None if self.few else wilson(self.false, self.total)

    @property
    def per_thousand_faces(self) -> float | None:
        """False alerts of this group per 1,000 faces processed (None when the count is suppressed)."""
        if not self.faces or suppressed(self.false):
            return None
        return 1000 * self.false / self.faces

    @property
    def shown_true(self) -> str:
        return shown(self.true)

    @property
    def shown_false(self) -> str:
        return shown(self.false)

    @property
    def shown_total(self) -> str:
        return shown(self.total)


@dataclass
class Standout:
    """A group whose false-alert rate stands above the rest's, beyond its own interval."""

    engine: str
    threshold: Decimal
    dimension: str
    cell: Cell
    others_rate: float

    @property
    def key(self) -> str:
        return f"equality:{self.engine}:{self.threshold}:{self.dimension}:{self.cell.group}"

    @property
    def message(self) -> str:
        low, high = self.cell.interval
        return (
            f"{self.cell.label} ({DIMENSIONS[self.dimension][0].lower()}): {self.cell.shown_false} of "
            f"{self.cell.shown_total} "
            f"adjudicated alerts false ({self.cell.false_rate:.1%}, 95 % interval {low:.1%} to {high:.1%}) against "
            f"{self.others_rate:.1%} for everyone else, engine {self.engine} at threshold {self.threshold}. "
            "The threshold is marked for review."
        )


@dataclass
class Version:
    """Everything adjudicated under one engine and threshold in the period."""

    engine: str
    threshold: Decimal
    faces: int
    groups: dict = field(default_factory=dict)  # dimension: [Cell], largest group first
    standouts: list = field(default_factory=list)


def _adjudicated(start=None, end=None):
    alerts = Alert.objects.exclude(state=AlertState.PENDING)
    if start:
        alerts = alerts.filter(created_at__gte=start)
    if end:
        alerts = alerts.filter(created_at__lt=end)
    return alerts


def faces_processed(engine: str, threshold, start=None, end=None) -> int:
    """Faces processed under an engine and threshold: their alerts and their deletion receipts."""
    window = Q()
    if start:
        window &= Q(created_at__gte=start)
    if end:
        window &= Q(created_at__lt=end)
    alerts = Alert.objects.filter(window, engine=engine, threshold=threshold).count()
    receipts = DeletionReceipt.objects.filter(window, engine=engine, deployment__threshold=threshold).count()
    return alerts + receipts


def _cells(rows, dimension: str, faces: int) -> list[Cell]:
    labels = dict(DIMENSIONS[dimension][1].choices)
    cells = [Cell(r[dimension], labels.get(r[dimension], "?"), r["true"], r["false"], faces) for r in rows]
    return sorted(cells, key=lambda c: (-c.total, c.group))


def standouts(cells: list[Cell], engine: str, threshold, dimension: str) -> list[Standout]:
    """Groups (other than "not recorded") whose interval lies wholly above the false-alert rate of all the others."""
    found = []
    for cell in cells:
        if cell.group == NOT_RECORDED or cell.few:
            continue
        others_false = sum(other.false for other in cells if other is not cell)
        others_total = sum(other.total for other in cells if other is not cell)
        if not others_total:
            continue
        others_rate = others_false / others_total
        if cell.interval[0] > others_rate:
            found.append(Standout(engine, threshold, dimension, cell, others_rate))
    return found


def versions(start=None, end=None) -> list[Version]:
    """Per engine and threshold (the newest first): the groups of each dimension and the standouts."""
    adjudicated = _adjudicated(start, end)
    pairs = adjudicated.values_list("engine", "threshold").distinct().order_by("-threshold", "engine")
    found = []
    for engine, threshold in pairs:
        faces = faces_processed(engine, threshold, start, end)
        version = Version(engine, threshold, faces)
        alerts = adjudicated.filter(engine=engine, threshold=threshold)
        for dimension in DIMENSIONS:
            cells = _cells(alerts.values(dimension).annotate(**_COUNTS), dimension, faces)
            version.groups[dimension] = cells
            version.standouts += standouts(cells, engine, threshold, dimension)
        found.append(version)
    return found


def monthly(dimension: str, start=None, end=None) -> list[dict]:
    """Per month, engine and threshold, the groups of one dimension (only groups with alerts), newest first."""
    rows = (
        _adjudicated(start, end)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "engine", "threshold", dimension)
        .annotate(**_COUNTS)
        .order_by("-month", "engine", "-threshold", dimension)
    )
    by_version = defaultdict(list)
    for row in rows:
        by_version[(row["month"], row["engine"], row["threshold"])].append(row)
    table = []
    for (month, engine, threshold), group_rows in by_version.items():
        first = month
        following = _next_month(month)
        faces = faces_processed(engine, threshold, first, following)
        for cell in _cells(group_rows, dimension, faces):
            table.append({"month": month, "engine": engine, "threshold": threshold, "cell": cell})
    return table


def _next_month(month):
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def all_standouts(start=None, end=None) -> list[Standout]:
    return [standout for version in versions(start, end) for standout in version.standouts]


def bars(cells: list[Cell], width: int = 320) -> list[dict]:
    """Geometry for a server-drawn horizontal bar chart of false-alert rates with their intervals (no script)."""
    drawn = []
    for index, cell in enumerate(cells):
        rate, interval = cell.false_rate, cell.interval
        drawn.append(
            {
                "cell": cell,
                "y": index * 22,
                "width": round((rate or 0.0) * width, 1),
                "low": round(interval[0] * width, 1) if interval else None,
                "high": round(interval[1] * width, 1) if interval else None,
                "percent": None if rate is None else round(rate * 100, 1),
            }
        )
    return drawn
