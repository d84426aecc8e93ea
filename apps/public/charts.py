"""The annual report's charts, drawn on the server as SVG: no script and nothing from another site, so they print and
read without one. This module works out the geometry of a column chart of the months; the template draws it, and
the table beside each chart gives the same numbers as text."""

from typing import NamedTuple

TALLEST = 150  # pixels: the tallest month's column
ABOVE, BELOW = 22, 26  # room for each column's value above it and the month's name below
SLOT, COLUMN = 64, 40  # a month's width and its column's


class Series(NamedTuple):
    """One part of a column: the figure it counts, what it is called, and its colour (a class of govern.css)."""

    field: str
    label: str
    css: str


def by_month(months: list[dict], series: list[Series]) -> dict:
    """A column per month, each stacked from `series` bottom up, scaled so that the tallest month fills the chart."""
    totals = [sum(month[part.field] for part in series) for month in months]
    scale = TALLEST / max(max(totals, default=0), 1)
    baseline = ABOVE + TALLEST
    columns = []
    for index, (month, total) in enumerate(zip(months, totals, strict=True)):
        left, top, segments = index * SLOT + (SLOT - COLUMN) / 2, float(baseline), []
        for part in series:
            value = month[part.field]
            height = round(value * scale, 1)
            top = round(top - height, 1)
            segments.append({"y": top, "height": height, "css": part.css, "label": part.label, "value": value})
        columns.append(
            {
                "month": month["month"],
                "x": left,
                "centre": index * SLOT + SLOT / 2,
                "total": total,
                "value_y": round(top - 5, 1),
                "segments": [segment for segment in segments if segment["height"] > 0],
            }
        )
    return {
        "columns": columns,
        "column_width": COLUMN,
        "width": SLOT * len(months),
        "height": baseline + BELOW,
        "baseline": baseline,
        "month_y": baseline + BELOW - 8,
        "series": series,
    }
