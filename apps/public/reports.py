"""What the public reports hold, read from the records: the notices of deployments to come. Nothing here names a
person: no subject, no officer.

A watchlist's size is counted in the query that reads the deployments (`publication.with_watchlist_size`); nobody
types it.
"""

from django.utils import timezone

from apps.deployments import publication
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment

from .choices import NOT_YET_COMPILED, SIZE_BANDS, NoticeStatus


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
    if deployment.state == DeploymentState.SUSPENDED:
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
