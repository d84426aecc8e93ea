"""What the public reports hold, read from the records: the notices of deployments to come, a completed deployment's
report, and a year's figures by month and by place type. Nothing here names a person: no subject, no officer.

A deployment's figures are its PublishedFigures, which the matching app keeps from the capture ledger and the judged
alerts; a watchlist's size is counted in the query that reads the deployments (`publication.with_watchlist_size`);
the engines are read from the alerts and deletion receipts. Nobody types any of them.
"""

import datetime

from django.db.models import Count, Min, Sum
from django.db.models.functions import Coalesce, ExtractYear
from django.utils import timezone

from apps.deployments import publication
from apps.deployments.choices import DeploymentState, LocationType
from apps.deployments.models import Deployment
from apps.matching.models import Alert, DeletionReceipt

from .choices import FIGURE_FIELDS, NOT_YET_COMPILED, PERIOD_FIELDS, SIZE_BANDS, NoticeStatus


def size_band(size: int | None) -> str:
    """The band a watchlist's size falls in; "not yet compiled" while no list is attached."""
    if size is None:
        return NOT_YET_COMPILED
    return next(label for limit, label in SIZE_BANDS if limit is None or size < limit)


def _place_and_window(deployment: Deployment) -> dict:
    return {
        "reference": deployment.reference,
        "place": deployment.location_name,
        "address": deployment.address,
        "location_type": deployment.get_location_type_display(),
        "start": timezone.localtime(deployment.start),
        "end": timezone.localtime(deployment.end),
    }


def _figures(deployment: Deployment) -> dict:
    kept = getattr(deployment, "figures", None)  # made when the deployment completes
    return {field: getattr(kept, field) if kept else 0 for field in FIGURE_FIELDS}


# --- Notices: deployments to come and under way ----------------------------------------------------------------------


def notices(now=None) -> list[dict]:
    """Every deployment, not cancelled, whose advance notice is published and whose end is still ahead, soonest
    first: its place and window, why there, its watchlist's size band, the notice's date and where it is now."""
    now = now or timezone.now()
    announced = (
        Deployment.objects.filter(notice_published_at__lte=now, end__gt=now)
        .exclude(state__in=[DeploymentState.CANCELLED, DeploymentState.COMPLETED])
        .order_by("start", "id")
    )
    return [_notice(deployment, now) for deployment in publication.with_watchlist_size(announced)]


def _status(deployment: Deployment, now) -> NoticeStatus:
    if deployment.state == DeploymentState.LIVE:
        return NoticeStatus.LIVE
    if deployment.state in (DeploymentState.SUSPENDED, DeploymentState.STOPPED):
        return NoticeStatus.SUSPENDED
    return NoticeStatus.UPCOMING if deployment.start > now else NoticeStatus.NOT_YET_LIVE


def _notice(deployment: Deployment, now) -> dict:
    status = _status(deployment, now)
    published = timezone.localtime(deployment.notice_published_at)
    return {
        **_place_and_window(deployment),
        "status": status.value,
        "status_label": status.label,
        "watchlist_size_band": size_band(deployment.watchlist_size),
        "notice_published_at": published,
        "notice_published_on": published.date(),
    }


# --- A completed deployment's report ---------------------------------------------------------------------------------


def deployment_report(reference: str) -> dict | None:
    """A completed deployment's report: its figures, watchlist size, threshold, engines and how long it ran; None for
    any deployment that is not completed (it has no report yet, or never will)."""
    deployment = (
        publication.with_watchlist_size(
            Deployment.objects.filter(reference=reference, state=DeploymentState.COMPLETED).select_related("figures")
        )
        .order_by()
        .first()
    )
    if deployment is None:
        return None
    went_live = deployment.went_live_at and timezone.localtime(deployment.went_live_at)
    completed = deployment.completed_at and timezone.localtime(deployment.completed_at)
    duration = completed - went_live if went_live and completed else None
    return {
        **_place_and_window(deployment),
        **_figures(deployment),
        "watchlist_size": deployment.watchlist_size,
        "threshold": deployment.threshold,
        "engines": engines(deployment),
        "went_live_at": went_live,
        "completed_at": completed,
        "duration_minutes": None if duration is None else int(duration.total_seconds() // 60),
        "notice_published_on": deployment.notice_published_at and timezone.localdate(deployment.notice_published_at),
    }


def engines(deployment: Deployment) -> list[str]:
    """The face engines that processed the deployment's faces, as every alert and every deletion receipt names its
    engine; none when no face was processed."""
    alerts = Alert.objects.filter(deployment=deployment).order_by().values_list("engine", flat=True)
    receipts = DeletionReceipt.objects.filter(deployment=deployment).order_by().values_list("engine", flat=True)
    return sorted(alerts.union(receipts))


def duration_label(minutes: int | None) -> str:
    """A duration as people say it: "6 h 5 min", "45 min"."""
    if minutes is None:
        return "not recorded"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if hours else f"{rest} min"


# --- Annual reports --------------------------------------------------------------------------------------------------


def _sums() -> dict:
    return {"deployments": Count("id"), **{field: Coalesce(Sum(f"figures__{field}"), 0) for field in FIGURE_FIELDS}}


def years() -> list[dict]:
    """Every year with an annual report, newest first, with its totals: from the year of the first completed
    deployment (by its start, local time) to this year; a year without one has zeros."""
    grouped = (
        Deployment.objects.filter(state=DeploymentState.COMPLETED)
        .annotate(year=ExtractYear("start"))
        .values("year")
        .annotate(**_sums())
        .order_by()
    )
    found = {row["year"]: row for row in grouped}
    if not found:
        return []
    last = max(timezone.localdate().year, *found)
    return [found.get(year) or _period({"year": year}) for year in range(last, min(found) - 1, -1)]


def reported(year: int) -> bool:
    """Whether the year has an annual report: from the first completed deployment's year to this year."""
    first = Deployment.objects.filter(state=DeploymentState.COMPLETED).aggregate(first=Min("start"))["first"]
    return first is not None and timezone.localtime(first).year <= year <= timezone.localdate().year


def annual(year: int) -> dict:
    """The year's completed deployments (by their start, local time) with their figures, in one query, and the
    figures summed by month and by place type."""
    completed = publication.with_watchlist_size(
        Deployment.objects.filter(state=DeploymentState.COMPLETED, start__year=year).select_related("figures")
    ).order_by("start", "id")
    deployments = [
        {
            **_place_and_window(deployment),
            "location_type_value": deployment.location_type,
            "watchlist_size": deployment.watchlist_size,
            "threshold": deployment.threshold,
            **_figures(deployment),
        }
        for deployment in completed
    ]
    months = [_period({"month": datetime.date(year, month, 1)}) for month in range(1, 13)]
    places = {value: _period({"place_type": label}) for value, label in LocationType.choices}
    totals = _period({"year": year})
    for row in deployments:
        for period in (months[row["start"].month - 1], places[row["location_type_value"]], totals):
            period["deployments"] += 1
            for field in FIGURE_FIELDS:
                period[field] += row[field]
    return {
        "year": year,
        "deployments": deployments,
        "months": months,
        "place_types": list(places.values()),
        "totals": totals,
    }


def _period(named: dict) -> dict:
    return {**named, **dict.fromkeys(PERIOD_FIELDS, 0)}
