"""Horizontal bar charts drawn on the server as SVG: no script and nothing from another site, so they pass the strict
Content-Security-Policy, print, and read without one. This module works out the geometry only; the template
(govern/templates/charts/bars.html) draws it, and every page that shows a chart gives the same numbers in a table
beside it.

Part of the kernel: it imports no app, so every app may draw with it. A bar is one row (a deployment, a month, an
hour), stacked from its series left to right; an optional marker is a tick at another figure of the row, so a bar
whose parts should add up to that figure (alerts and deletion receipts to the faces processed) shows at a glance
whether they do.
"""

from typing import NamedTuple

LABEL = 150  # pixels: the room for each row's name on the left
PLOT = 420  # pixels: the longest bar
VALUE = 230  # pixels: the room for each row's figures on the right
ROW, BAR = 24, 16  # a row's height and its bar's
WIDTH = LABEL + PLOT + VALUE


class Series(NamedTuple):
    """One part of a bar: the attribute it reads from each row, what it is called (in the legend, and in short beside
    each bar), and its colour (a class of govern.css)."""

    field: str
    label: str
    css: str
    short: str


def bars(rows: list, series: list[Series], *, label: str, marker: Series | None = None) -> dict:
    """A bar per row, each stacked from `series`, with a tick at `marker`'s figure when given; scaled so that the
    largest bar or marker fills the plot. `label` names the attribute (or key) that names each row."""
    values = [[_value(row, part.field) for part in series] for row in rows]
    marks = [_value(row, marker.field) if marker else 0 for row in rows]
    largest = max([sum(parts) for parts in values] + marks + [1])
    scale = PLOT / largest
    drawn = []
    for index, (row, parts, mark) in enumerate(zip(rows, values, marks, strict=True)):
        left, segments = float(LABEL), []
        for part, value in zip(series, parts, strict=True):
            width = round(value * scale, 1)
            if width > 0:
                segments.append({"x": left, "width": width, "css": part.css, "label": part.label, "value": value})
            left = round(left + width, 1)
        drawn.append(
            {
                "label": str(_value(row, label)),
                "y": index * ROW,
                "segments": segments,
                "total": sum(parts),
                "text": _text(series, parts, marker, mark),
                "marker_x": round(LABEL + mark * scale, 1) if marker else None,
                "marker_value": mark if marker else None,
                "value_x": LABEL + PLOT + 8,
            }
        )
    return {
        "rows": drawn,
        "series": series,
        "marker": marker,
        "width": WIDTH,
        "height": max(len(rows), 1) * ROW + 4,
        "bar": BAR,
        "label_x": LABEL - 6,
        "plot_x": LABEL,
    }


def _text(series: list[Series], parts: list, marker: Series | None, mark) -> str:
    """A bar's figures in words, beside it: "3 faces = 1 alerts + 2 receipts"."""
    told = " + ".join(f"{value:,} {part.short}" for part, value in zip(series, parts, strict=True))
    return f"{mark:,} {marker.short} = {told}" if marker else told


def _value(row, name: str):
    return row[name] if isinstance(row, dict) else getattr(row, name)
