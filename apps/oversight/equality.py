"""Equality monitoring: true and false alerts by the person the alert concerned, as the officer perceived them.

A false alert flagged someone who is not the listed subject, so the groups are those of the person the camera saw
(perceived sex, age band and broad ethnic group, recorded at judgement or at the stop), never the subject's; the NPL
2023 study reports its rates the same way. An alert found false only after the person was stopped is a false alert.

Figures are kept apart per engine and threshold (a rate means something only for the engine and threshold that
produced it). Each rate has a 95 % Wilson score interval; as official statistics publish them, a group of fewer than
SMALL alerts shows nothing, counts of 1 to 4 are suppressed, and so is whatever would give them back by subtraction
(`protect`); false alerts are also given per 1,000 faces processed under that engine and threshold. A group whose
false-alert rate stands above everyone else's, beyond its interval, is a finding: it raises an oversight notification
and marks the threshold for review.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from apps.matching import evaluation as engine_figures
from apps.matching.choices import AgeBand, AlertState, EthnicGroup, PerceivedSex
from apps.matching.models import FALSE_ALERTS, TRUE_ALERTS, Alert, DeletionReceipt

SUPPRESS_BELOW = 5  # a count of 1 to 4 is shown as "fewer than 5"
SMALL = 10  # fewer adjudicated alerts than this in a group: no rate, no interval, no comparison
NOT_RECORDED = "not_recorded"
DIMENSIONS = {
    "perceived_ethnicity": ("Ethnic group (perceived)", EthnicGroup),
    "perceived_sex": ("Sex (perceived)", PerceivedSex),
    "perceived_age": ("Age band (perceived)", AgeBand),
}
_COUNTS = {"true": Count("pk", filter=TRUE_ALERTS), "false": Count("pk", filter=FALSE_ALERTS)}


def wilson(successes: int, trials: int) -> tuple[float, float] | None:
    """The 95 % Wilson score interval of a proportion (None with no trials): the engine evaluation's, one formula."""
    return engine_figures.wilson(successes, trials) if trials else None


def suppressed(count: int) -> bool:
    """A count of 1 to 4: too few to publish."""
    return 0 < count < SUPPRESS_BELOW


SUPPRESSED = "suppressed"


@dataclass
class Cell:
    """Adjudicated alerts of one group under one engine and threshold: how many were true, how many false, and what
    of it may be published (`hidden`: "total", "counts" or both, set by `protect`)."""

    group: str
    label: str
    true: int
    false: int
    faces: int = 0  # faces processed under the engine and threshold (the denominator of the per-1,000 rate)
    hidden: set = field(default_factory=set)

    @property
    def total(self) -> int:
        return self.true + self.false

    @property
    def few(self) -> bool:
        return self.total < SMALL

    # What was counted, for the standouts' test only: never published as such.
    @property
    def raw_interval(self) -> tuple[float, float] | None:
        return None if self.few else wilson(self.false, self.total)

    # What is published: nothing that, with the other published figures, gives back a suppressed count.
    @property
    def counts_shown(self) -> bool:
        return "counts" not in self.hidden

    @property
    def published_true(self) -> int | None:
        return self.true if self.counts_shown else None

    @property
    def published_false(self) -> int | None:
        return self.false if self.counts_shown else None

    @property
    def published_total(self) -> int | None:
        return None if "total" in self.hidden else self.total

    @property
    def false_rate(self) -> float | None:
        """The share of this group's adjudicated alerts that were false; None when too few or suppressed."""
        return None if self.few or not self.counts_shown else self.false / self.total

    @property
    def interval(self) -> tuple[float, float] | None:
        return None if self.false_rate is None else wilson(self.false, self.total)

    @property
    def per_thousand_faces(self) -> float | None:
        """False alerts of this group per 1,000 faces processed (None when the count is suppressed)."""
        return None if not self.faces or not self.counts_shown else 1000 * self.false / self.faces

    @property
    def shown_true(self) -> str:
        return SUPPRESSED if self.published_true is None else f"{self.true:,}"

    @property
    def shown_false(self) -> str:
        return SUPPRESSED if self.published_false is None else f"{self.false:,}"

    @property
    def shown_total(self) -> str:
        return SUPPRESSED if self.published_total is None else f"{self.total:,}"


def _hide(cell: Cell, measure: str) -> bool:
    """Hide a measure of a cell; a hidden total hides the counts too (they would sum to it). Whether it changed."""
    wanted = {"total", "counts"} if measure == "total" else {"counts"}
    if wanted <= cell.hidden:
        return False
    cell.hidden |= wanted
    return True


def protect(table: dict) -> None:
    """Primary and complementary suppression over one dimension of one engine and threshold, as statisticians do.

    `table` maps a month (None: the whole period) to its cells. Primary: a group with fewer than SMALL alerts shows
    no figure, one with a true or false count of 1 to 4 no counts. Complementary: along every line whose sum can be
    known elsewhere (a month's groups, whose total another dimension gives; a group's months, when its whole-period
    figure is shown) no measure is hidden in exactly one cell, or subtraction would give it back: the next smallest
    is hidden too, until nothing changes.
    """
    for cells in table.values():
        for cell in cells:
            if cell.total and cell.few:
                _hide(cell, "total")
            elif suppressed(cell.true) or suppressed(cell.false):
                _hide(cell, "counts")
    changed = True
    while changed:
        changed = False
        lines = [(cells, ("total", "counts")) for cells in table.values()]
        whole = {cell.group: cell for cell in table.get(None, [])}
        for group, overall in whole.items():
            months = [
                cell for month, cells in table.items() if month is not None for cell in cells if cell.group == group
            ]
            known = tuple(measure for measure in ("total", "counts") if measure not in overall.hidden)
            lines.append((months, known))
        for cells, measures in lines:
            for measure in measures:
                if sum(1 for cell in cells if measure in cell.hidden) != 1:
                    continue
                visible = sorted(
                    (c for c in cells if measure not in c.hidden and c.total), key=lambda c: (c.total, c.group)
                )
                if visible:
                    changed |= _hide(visible[0], measure)


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
        """The finding in published figures only: a suppressed count is not told here either."""
        cell, dimension = self.cell, DIMENSIONS[self.dimension][0].lower()
        if cell.false_rate is None:
            told = f"{cell.shown_total} adjudicated alerts, its counts suppressed as too small to publish,"
        else:
            low, high = cell.interval
            told = (
                f"{cell.shown_false} of {cell.shown_total} adjudicated alerts false ({cell.false_rate:.1%}, 95 % "
                f"interval {low:.1%} to {high:.1%}),"
            )
        return (
            f"{cell.label} ({dimension}): {told} a false-alert rate above everyone else's ({self.others_rate:.1%}) "
            f"beyond its 95 % interval, engine {self.engine} at threshold {self.threshold}. "
            "The threshold is marked for review."
        )


@dataclass
class Version:
    """Everything adjudicated under one engine and threshold in the period."""

    engine: str
    threshold: Decimal
    faces: int
    groups: dict = field(default_factory=dict)  # dimension: [Cell], largest group first
    months: dict = field(default_factory=dict)  # dimension: {month: [Cell]}, newest first
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
    """Groups (other than "not recorded") whose interval lies wholly above the false-alert rate of all the others.
    Tested on what was counted: a group too small to publish can still be a finding (its message says no more)."""
    found = []
    for cell in cells:
        if cell.group == NOT_RECORDED or cell.few:
            continue
        others_false = sum(other.false for other in cells if other is not cell)
        others_total = sum(other.total for other in cells if other is not cell)
        if not others_total:
            continue
        others_rate = others_false / others_total
        if cell.raw_interval[0] > others_rate:
            found.append(Standout(engine, threshold, dimension, cell, others_rate))
    return found


def _months(alerts, dimension: str, faces_in) -> dict:
    """A dimension's cells per month, newest first, each month's faces (`faces_in(month)`) its denominator."""
    rows = (
        alerts.annotate(month=TruncMonth("created_at"))
        .values("month", dimension)
        .annotate(**_COUNTS)
        .order_by("-month", dimension)
    )
    by_month = defaultdict(list)
    for row in rows:
        by_month[row["month"]].append(row)
    return {month: _cells(found, dimension, faces_in(month)) for month, found in by_month.items()}


def versions(start=None, end=None) -> list[Version]:
    """Per engine and threshold (the newest first): the groups of each dimension, over the period and per month,
    protected together, and the standouts."""
    adjudicated = _adjudicated(start, end)
    pairs = adjudicated.values_list("engine", "threshold").distinct().order_by("-threshold", "engine")
    found = []
    for engine, threshold in pairs:
        faces = faces_processed(engine, threshold, start, end)
        version = Version(engine, threshold, faces)
        alerts = adjudicated.filter(engine=engine, threshold=threshold)
        monthly_faces = {}  # counted once per month, whichever dimension asks first

        def faces_in(month, engine=engine, threshold=threshold, counted=monthly_faces):
            if month not in counted:
                counted[month] = faces_processed(engine, threshold, month, _next_month(month))
            return counted[month]

        for dimension in DIMENSIONS:
            cells = _cells(alerts.values(dimension).annotate(**_COUNTS), dimension, faces)
            months = _months(alerts, dimension, faces_in)
            protect({None: cells, **months})
            version.groups[dimension], version.months[dimension] = cells, months
            version.standouts += standouts(cells, engine, threshold, dimension)
        found.append(version)
    return found


def monthly(dimension: str, start=None, end=None, found: list[Version] | None = None) -> list[dict]:
    """Per month, engine and threshold, the groups of one dimension (only groups with alerts), newest first."""
    rows = [
        {"month": month, "engine": version.engine, "threshold": version.threshold, "cell": cell}
        for version in (versions(start, end) if found is None else found)
        for month, cells in version.months[dimension].items()
        for cell in cells
    ]
    return sorted(rows, key=lambda row: row["month"], reverse=True)


def _next_month(month):
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def all_standouts(start=None, end=None) -> list[Standout]:
    """Every standout of every engine and threshold."""
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
