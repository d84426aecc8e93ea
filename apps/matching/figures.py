"""What the records of deployments add up to, per deployment, per month or per hour: faces processed, alerts, false
alerts and deletion receipts, and whether the ledger balances per track: faces = faces in alerted tracks + faces in
receipted tracks, and tracks = alerted tracks (alerts and the sightings attached to them) + receipted tracks. A
frame's face is a track of one face, so for frames alone this is faces = alerts + receipts.

Counted from the rows themselves (captures, alerts, receipts), never from a stored total, so a chart or a ledger shows
what the records hold, and a receipt deleted behind the services' back shows as a gap. An alert and a receipt carry
their frame's time (the capture service writes all three with one clock reading), so each is counted in the month
(or hour) of its frame, without a join, and a period reconciles exactly when its frames do.
"""

from dataclasses import dataclass

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncHour, TruncMonth
from django.utils import timezone

from govern import charts

from .models import FALSE_ALERTS, Alert, AlertSighting, Capture, DeletionReceipt

RECONCILIATION = [
    charts.Series("alerts", "Alerts", "bar-alert", "alerts"),
    charts.Series("receipts", "Deletion receipts", "bar-receipt", "receipts"),
]
FACES = charts.Series("faces", "Faces processed", "marker-faces", "faces")
ALERTS = [
    charts.Series("false_alerts", "False alerts", "bar-false", "false"),
    charts.Series("other_alerts", "Other alerts (true or not yet judged)", "bar-unjudged", "other"),
]


def per_track_defaults(counts) -> None:
    """A tally's or ledger's per-track counts left unset, as a frame's faces make them: each face a track of one face,
    so as many tracks as faces, and as many alerted and receipted faces as alerts and receipts."""
    counts.tracks = counts.faces if counts.tracks is None else counts.tracks
    counts.alert_faces = counts.alerts if counts.alert_faces is None else counts.alert_faces
    counts.receipt_faces = counts.receipts if counts.receipt_faces is None else counts.receipt_faces


@dataclass
class Tally:
    """One deployment's, month's or hour's faces, alerts, false alerts and deletion receipts."""

    key: object  # the deployment's pk, or the month or hour (an aware datetime)
    label: str
    faces: int = 0
    alerts: int = 0
    false_alerts: int = 0
    receipts: int = 0
    # Per track (a frame's face is a track of one face): the tracks counted by their captures, the sightings attached
    # to alerts, and the faces the alerted (alerts and sightings) and receipted tracks hold. None: as many as `faces`,
    # `alerts` and `receipts` say (a tally made by hand from those alone).
    tracks: int | None = None
    sightings: int = 0
    alert_faces: int | None = None
    receipt_faces: int | None = None

    def __post_init__(self):
        per_track_defaults(self)

    @property
    def other_alerts(self) -> int:
        return self.alerts - self.false_alerts

    @property
    def gap(self) -> int:
        """Faces in neither an alerted nor a receipted track (negative: more than the faces processed)."""
        return self.faces - self.alert_faces - self.receipt_faces

    @property
    def track_gap(self) -> int:
        """Tracks with neither an alert, a sighting nor a receipt (negative: more of those than tracks)."""
        return self.tracks - self.alerts - self.sightings - self.receipts

    @property
    def reconciles(self) -> bool:
        return self.gap == 0 and self.track_gap == 0


def _counts(deployments: QuerySet, bucket) -> dict:
    """{key: Tally figures} for the deployments' records, grouped by `bucket(time_field)` (TruncMonth, TruncHour), or
    by deployment when `bucket` is None."""

    def grouped(model, time_field, **figures):
        rows = model.objects.filter(deployment__in=deployments)
        key = "deployment_id" if bucket is None else "bucket"
        if bucket is not None:
            rows = rows.annotate(bucket=bucket(time_field))
        return {row[key]: row for row in rows.order_by().values(key).annotate(**figures)}

    # The tracks first: an annotation named `faces` would be what a later F("faces") meant.
    faces = grouped(Capture, "received_at", tracks=Sum(Coalesce("tracks", "faces")), faces=Sum("faces"))
    alerts = grouped(
        Alert,
        "created_at",
        alerts=Count("pk"),
        false_alerts=Count("pk", filter=FALSE_ALERTS),
        alert_faces=Sum("faces"),
    )
    sightings = grouped(AlertSighting, "received_at", sightings=Count("pk"), sighting_faces=Sum("faces"))
    receipts = grouped(DeletionReceipt, "created_at", receipts=Count("pk"), receipt_faces=Sum("faces"))
    found = {}
    for key in {*faces, *alerts, *sightings, *receipts}:
        frame, alert, sighting, receipt = (rows.get(key) or {} for rows in (faces, alerts, sightings, receipts))
        found[key] = {
            "faces": frame.get("faces") or 0,
            "tracks": frame.get("tracks") or 0,
            "alerts": alert.get("alerts", 0),
            "false_alerts": alert.get("false_alerts", 0),
            "sightings": sighting.get("sightings", 0),
            "alert_faces": (alert.get("alert_faces") or 0) + (sighting.get("sighting_faces") or 0),
            "receipts": receipt.get("receipts", 0),
            "receipt_faces": receipt.get("receipt_faces") or 0,
        }
    return found


def by_deployment(deployments: QuerySet) -> list[Tally]:
    """Every one of the deployments (newest first), with what its records add up to: zero for one that saw nobody."""
    counted = _counts(deployments, None)
    return [
        Tally(pk, reference, **counted.get(pk, {}))
        for pk, reference in deployments.order_by("-start", "-pk").values_list("pk", "reference")
    ]


def by_month(deployments: QuerySet) -> list[Tally]:
    """The months (UK time, oldest first) in which the deployments' cameras sent frames, with what they add up to."""
    counted = _counts(deployments, TruncMonth)
    return [Tally(month, f"{timezone.localtime(month):%b %Y}", **counted[month]) for month in sorted(counted)]


def by_hour(deployments: QuerySet) -> list[Tally]:
    """The hours (UK time, oldest first) in which the deployments' cameras sent frames, with what they add up to."""
    counted = _counts(deployments, TruncHour)
    return [Tally(hour, f"{timezone.localtime(hour):%d %b %H:00}", **counted[hour]) for hour in sorted(counted)]


def charts_of(tallies: list[Tally], *, name: str, caption: str, empty: str) -> dict:
    """The two charts of a list of tallies: faces against alerts + receipts (the reconciliation), and alerts split
    into false and other; with the tallies themselves for the table beside them. `name` makes the ids unique; `empty`
    says where no frame came from ("in this period")."""
    return {
        "name": name,
        "caption": caption,
        "empty": empty,
        "tallies": tallies,
        "red": sum(1 for tally in tallies if not tally.reconciles),
        "reconciliation": charts.bars(tallies, RECONCILIATION, label="label", marker=FACES),
        "alerts": charts.bars(tallies, ALERTS, label="label"),
    }


def only_with_records(tallies: list[Tally]) -> list[Tally]:
    """The tallies with anything counted (a planned deployment that never filmed draws no empty bar)."""
    return [tally for tally in tallies if tally.faces or tally.alerts or tally.receipts or tally.sightings]
