"""What the public may see of deployments: completed ones, place, times and numbers; never anyone's identity."""

from collections import defaultdict

from django.db.models import Case, Count, F, Func, IntegerField, QuerySet, Value, When
from django.db.models.functions import Coalesce
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


def with_watchlist_size(deployments: QuerySet) -> QuerySet:
    """The deployments, each with `watchlist_size`: its list's entries, or once the list is purged the people its
    manifest records; None while no list is attached. Counted in the database, in the query that reads them: a
    manifest lists up to ~17k people."""
    manifest_listed = Func(
        F("watchlist__manifest__data__listed"), function="jsonb_array_length", output_field=IntegerField()
    )
    return deployments.annotate(
        watchlist_size=Case(
            When(watchlist__isnull=True, then=Value(None)),
            default=Coalesce(manifest_listed, Count("watchlist__entries")),
            output_field=IntegerField(),
        )
    )


def published_deployments() -> list[dict]:
    """Every completed deployment as a row of published fields only, newest first (from the replica, if any)."""
    with reading_from_replica():
        return _published_rows()


def _published_rows() -> list[dict]:
    rows = []
    completed = with_watchlist_size(
        Deployment.objects.filter(state=DeploymentState.COMPLETED).select_related("figures")
    ).order_by("-start")
    for deployment in completed:
        outcome = getattr(deployment, "figures", None)
        size = deployment.watchlist_size
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
