"""The force's Sarah's Law figures, and the geometry of their charts (drawn as SVG by the template, no script).

Counts only: nothing here names a person, so reading the figures is not a consultation of personal data.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone

from .choices import OPEN_STAGES, LetterKind, Route, Stage
from .models import Disclosure, DisclosureCase, Letter

MONTHS = 12
SERIES = [
    ("applications", "Cases opened", "#1d4e89"),
    ("disclosures", "Disclosures", "#14532d"),
    ("non_disclosures", "Non-disclosures", "#a4161a"),
]
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 760, 260, 40, 40, 16


@dataclass(frozen=True)
class Bar:
    """One bar: where it is drawn and what it shows."""

    x: float
    y: float
    width: float
    height: float
    value: int
    colour: str
    label: str


def figures(now=None) -> dict:
    """Applications, disclosures, non-disclosures, the average days to complete, and overdue cases."""
    now = now or timezone.now()
    cases = DisclosureCase.objects.all()
    completed = list(cases.filter(stage=Stage.COMPLETED).values_list("contact_at", "completed_at", "case_due_at"))
    days = [(done - contact).total_seconds() / 86400 for contact, done, _due in completed]
    return {
        "applications": cases.filter(route=Route.RIGHT_TO_ASK).count(),
        "right_to_be_told": cases.filter(route=Route.RIGHT_TO_BE_TOLD).count(),
        "disclosures": Disclosure.objects.filter(disclosed_at__isnull=False).count(),
        "non_disclosures": Letter.objects.filter(kind=LetterKind.NON_DISCLOSURE).count(),
        "completed": len(completed),
        "average_days": round(sum(days) / len(days), 1) if days else None,
        "within_45_days": sum(1 for _contact, done, due in completed if done <= due),
        "open": cases.exclude(stage=Stage.COMPLETED).count(),
        "overdue": cases.overdue(now).count(),
    }


def _month_start(day: datetime.date, back: int) -> datetime.date:
    month = day.month - 1 - back
    return datetime.date(day.year + month // 12, month % 12 + 1, 1)


def _by_month(moments) -> dict[tuple[int, int], int]:
    counted: dict[tuple[int, int], int] = {}
    for moment in moments:
        local = timezone.localtime(moment)
        counted[(local.year, local.month)] = counted.get((local.year, local.month), 0) + 1
    return counted


def monthly_chart(now=None) -> dict:
    """The last twelve months: cases opened, disclosures and non-disclosures, as grouped bars."""
    today = timezone.localdate(now or timezone.now())
    months = [_month_start(today, back) for back in range(MONTHS - 1, -1, -1)]
    since = datetime.datetime.combine(months[0], datetime.time.min, tzinfo=timezone.get_current_timezone())
    counts = {
        "applications": _by_month(
            DisclosureCase.objects.filter(contact_at__gte=since).values_list("contact_at", flat=True)
        ),
        "disclosures": _by_month(
            Disclosure.objects.filter(disclosed_at__gte=since).values_list("disclosed_at", flat=True)
        ),
        "non_disclosures": _by_month(
            Letter.objects.filter(kind=LetterKind.NON_DISCLOSURE, issued_at__gte=since).values_list(
                "issued_at", flat=True
            )
        ),
    }
    top = max([1, *(value for series in counts.values() for value in series.values())])
    plot_width, plot_height = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    group = plot_width / MONTHS
    bar_width = (group - 8) / len(SERIES)
    groups = []
    for index, month in enumerate(months):
        bars = []
        for position, (key, label, colour) in enumerate(SERIES):
            value = counts[key].get((month.year, month.month), 0)
            height = plot_height * value / top
            x = LEFT + index * group + 4 + position * bar_width
            bars.append(
                Bar(
                    round(x, 1),
                    round(TOP + plot_height - height, 1),
                    round(bar_width - 1, 1),
                    round(height, 1),
                    value,
                    colour,
                    label,
                )
            )
        groups.append({"label": month.strftime("%b %y"), "x": round(LEFT + index * group + group / 2, 1), "bars": bars})
    ticks = sorted({0, top // 2, top})
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "baseline": TOP + plot_height,
        "label_y": TOP + plot_height + 16,
        "left": LEFT,
        "right": WIDTH - 8,
        "groups": groups,
        "series": [{"label": label, "colour": colour} for _key, label, colour in SERIES],
        "ticks": [{"value": tick, "y": round(TOP + plot_height - plot_height * tick / top, 1)} for tick in ticks],
    }


def stage_chart(now=None) -> dict:
    """Open cases by stage, as horizontal bars."""
    counts = dict(
        DisclosureCase.objects.exclude(stage=Stage.COMPLETED).values_list("stage").annotate(n=Count("id")).order_by()
    )
    top = max([1, *counts.values()])
    row, label_width, bar_space = 26, 300, WIDTH - 300 - 60
    bars = []
    for index, stage in enumerate(OPEN_STAGES):
        value = counts.get(stage.value, 0)
        bars.append(
            Bar(label_width, 8 + index * row, round(bar_space * value / top, 1), row - 8, value, "#1d4e89", stage.label)
        )
    return {"width": WIDTH, "height": 8 + len(OPEN_STAGES) * row, "bars": bars, "label_x": label_width - 8}
