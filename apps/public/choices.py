"""The closed lists of the public pages: the formats they answer in, what a notice says of a deployment now, the
watchlist size bands and the figures with the anchors of the method page that says how each is derived."""

from typing import NamedTuple

from django.db import models


class Format(models.TextChoices):
    """What a public page may be asked for with `?format=`."""

    HTML = "html", "Web page"
    CSV = "csv", "CSV"
    JSON = "json", "JSON"
    ATOM = "atom", "Atom feed"


class NoticeStatus(models.TextChoices):
    """Where a deployment with a published notice is now, as the public is told it."""

    UPCOMING = "upcoming", "Upcoming"
    NOT_YET_LIVE = "not_yet_live", "Due now, not yet live"
    LIVE = "live", "Live now"
    SUSPENDED = "suspended", "Suspended"


# A watchlist's size before its deployment is published as a band: the exact number follows in the report.
# (the smallest size that is not in the band, its label); the last band has no upper end.
SIZE_BANDS = [
    (100, "fewer than 100"),
    (1_000, "100 to 999"),
    (5_000, "1,000 to 4,999"),
    (10_000, "5,000 to 9,999"),
    (None, "10,000 or more"),
]
NOT_YET_COMPILED = "not yet compiled"


class Figure(NamedTuple):
    """A published figure: its field, its label, and its section (anchor) on the method page."""

    field: str
    label: str
    anchor: str


# A deployment's figures, in the order every report gives them; each section of the method page has the anchor.
FIGURES = [
    Figure("faces_processed", "Faces processed", "faces-processed"),
    Figure("alerts", "Alerts", "alerts"),
    Figure("true_alerts", "True alerts", "true-alerts"),
    Figure("false_alerts", "False alerts", "false-alerts"),
    Figure("engagements", "Engagements", "engagements"),
    Figure("arrests", "Arrests", "arrests"),
    Figure("other_outcomes", "Other outcomes", "other-outcomes"),
]
FIGURE_FIELDS = [figure.field for figure in FIGURES]
# The annual report's figures per month and per place type: the deployments, then a deployment's figures.
PERIOD_FIELDS = ["deployments", *FIGURE_FIELDS]
