"""What the public may see of deployments: completed ones, place, times and numbers; never anyone's identity."""

from collections import defaultdict

from django.db.models import Count, F, Func, IntegerField
from django.utils import timezone

from govern import spreadsheet
from govern.db_router import reading_from_replica

from .choices import DeploymentState
from .models import Deployment

PUBLISHED_FIELDS = [
    "reference",
    "date",
    "location",
    "location_type",
    "start",
    "end",
    "watchlist_size",
    "faces_processed",
    "alerts",
    "false_alerts",
    "arrests",
]
FIGURES = ["watchlist_size", "faces_processed", "alerts", "false_alerts", "arrests"]


def published_deployments() -> list[dict]:
    """Every completed deployment as a row of published fields only, newest first (from the replica, if any)."""
    with reading_from_replica():
        return _published_rows()


def _published_rows() -> list[dict]:
    rows = []
    completed = (
        Deployment.objects.filter(state=DeploymentState.COMPLETED)
        .select_related("figures", "watchlist")
        .annotate(
            listed=Count("watchlist__entries"),
            # The approved version's size, counted in the database: a manifest lists up to ~17k entries.
            manifest_listed=Func(
                F("watchlist__manifest__data__listed"), function="jsonb_array_length", output_field=IntegerField()
            ),
        )
        .order_by("-start")
    )
    for deployment in completed:
        outcome = getattr(deployment, "figures", None)
        size = deployment.manifest_listed if deployment.manifest_listed is not None else deployment.listed
        start, end = timezone.localtime(deployment.start), timezone.localtime(deployment.end)
        rows.append(
            {
                "reference": deployment.reference,
                "date": start.date().isoformat(),
                "location": deployment.location_name,
                "location_type": deployment.get_location_type_display(),
                "start": start.strftime("%H:%M"),
                "end": end.strftime("%H:%M"),
                "watchlist_size": size,
                "faces_processed": outcome.faces_processed if outcome else 0,
                "alerts": outcome.alerts if outcome else 0,
                "false_alerts": outcome.false_alerts if outcome else 0,
                "arrests": outcome.arrests if outcome else 0,
            }
        )
    return rows


def yearly_totals(rows: list[dict]) -> list[dict]:
    """Deployments and figures per calendar year."""
    totals: dict[str, dict] = defaultdict(lambda: {"deployments": 0, **{field: 0 for field in FIGURES}})
    for row in rows:
        year = totals[row["date"][:4]]
        year["deployments"] += 1
        for field in FIGURES:
            year[field] += row[field]
    return [{"year": year, **values} for year, values in sorted(totals.items(), reverse=True)]


def as_csv(rows: list[dict]) -> str:
    """The published rows as CSV."""
    return spreadsheet.csv_text(PUBLISHED_FIELDS, rows)
