"""What the public may see of deployments: completed ones, place, times and numbers; never anyone's identity."""

import hashlib
from collections import defaultdict

from django.core.cache import cache
from django.db import connections, router
from django.db.models import Case, Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.watchlists.models import Entry
from govern import spreadsheet
from govern.db_router import reading_from_replica

from .choices import DeploymentState, LocationType
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
    """The deployments, each with `watchlist_size`: the people its list's manifest records once the list is purged
    (counted by the database as the manifest was written), its entries before; None while no list is attached. In
    the query that reads the deployments, with no row per entry: a list holds up to ~17k people."""
    entries = (
        Entry.objects.filter(watchlist=OuterRef("watchlist")).order_by().values("watchlist").annotate(n=Count("pk"))
    )
    return deployments.annotate(
        watchlist_size=Case(
            When(watchlist__isnull=True, then=Value(None)),
            default=Coalesce(F("watchlist__manifest__listed_count"), Subquery(entries.values("n")), Value(0)),
            output_field=IntegerField(),
        )
    )


# A fingerprint of everything the published rows are read from: the completed deployments and their figures, each
# row's xmin (which every UPDATE, by any path: a service, the admin, a shell, raw SQL, gives a new value) summed.
# Their lists cannot change once their deployment is over (a purge replaces the entries by a manifest of the same
# count). The rows are cached under it: a read costs one plain statement until something they show changes.
_FINGERPRINT_SQL = """
SELECT count(*), coalesce(sum(d.xmin::text::bigint), 0), coalesce(sum(f.xmin::text::bigint), 0),
       coalesce(max(f.updated_at), 'epoch')
FROM deployments_deployment d LEFT JOIN deployments_publishedfigures f ON f.deployment_id = d.id
WHERE d.state = %s
"""
CACHE_SECONDS = 600  # an unused fingerprint's rows leave the cache; never needed for freshness


def published_deployments() -> list[dict]:
    """Every completed deployment as a row of published fields only, newest first (from the replica, if any), from
    the cache while nothing they show has changed."""
    with reading_from_replica():
        alias = router.db_for_read(Deployment)
        with connections[alias].cursor() as cursor:
            cursor.execute(_FINGERPRINT_SQL, [DeploymentState.COMPLETED.value])
            fingerprint = "|".join(
                str(value) for value in [alias, timezone.get_current_timezone_name(), *cursor.fetchone()]
            )
        key = "govern:published:" + hashlib.sha256(fingerprint.encode()).hexdigest()  # a key any cache backend takes
        rows = cache.get(key)
        if rows is None:
            rows = _published_rows()
            cache.set(key, rows, CACHE_SECONDS)
        return rows


def _published_rows() -> list[dict]:
    # The columns shown, not whole deployments: a thousand rows of models cost more than the query itself.
    completed = (
        with_watchlist_size(Deployment.objects.filter(state=DeploymentState.COMPLETED))
        .order_by("-start")
        .values("reference", "location_name", "location_type", "start", "end", "watchlist_size")
        .annotate(**{field: Coalesce(F(f"figures__{field}"), 0) for field in FIGURES if field != "watchlist_size"})
    )
    labels = dict(LocationType.choices)
    rows = []
    for deployment in completed:
        start, end = timezone.localtime(deployment["start"]), timezone.localtime(deployment["end"])
        rows.append(
            {
                "reference": deployment["reference"],
                "date": start.date().isoformat(),
                "location": deployment["location_name"],
                "location_type": labels.get(deployment["location_type"], deployment["location_type"]),
                "start": start.strftime("%H:%M"),
                "end": end.strftime("%H:%M"),
                **{field: deployment[field] for field in FIGURES},
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
