"""Synthetic demo deployments: completed ones with figures, one live now, one upcoming awaiting its checklist.

Places are real-sounding but the deployments, lists and figures are invented and marked SYNTHETIC DEMO.
Idempotent: it adds what is missing for the current time.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.watchlists import demo as watchlist_demo
from apps.watchlists.choices import Category, WatchlistState
from apps.watchlists.models import Subject, Watchlist
from apps.watchlists.services import watchlists

from . import services
from .choices import AssetKind, DeploymentState, DocumentKind, LocationType
from .models import Asset, Deployment, PolicyDocument

MARK = watchlist_demo.MARK
# The demo officers who work every demo deployment: the response officer, and the public protection unit's
# constable, who opens a Sarah's Law case from an alert. Only they (and the commander) see the alerts.
TEAM = ("officer", "ppu")
PLACES = [
    ("Northgate shopping centre", "Northgate, Demo Town", "51.5200", "-0.1000", LocationType.CRIME_HOTSPOT),
    ("Central station concourse", "Station Road, Demo Town", "51.5300", "-0.1200", LocationType.INTELLIGENCE),
    (
        "Riverside stadium, match day",
        "Riverside Way, Demo Town",
        "51.5400",
        "-0.0800",
        LocationType.PROTECTIVE_SECURITY,
    ),
]


def _documents(commander) -> list[PolicyDocument]:
    found = []
    for kind in DocumentKind.values:
        document = PolicyDocument.objects.filter(kind=kind, version="DEMO-1").first()
        if document is None:
            document = services.record_document(
                commander,
                kind=kind,
                version="DEMO-1",
                title=f"{MARK}: {DocumentKind(kind).label}",
                review_by=timezone.localdate() + datetime.timedelta(days=365),
            )
            services.approve_document(commander, document)
        found.append(document)
    return found


def _assets(commander) -> list[Asset]:
    return [
        Asset.objects.filter(identifier=f"DEMO-VAN-{n}").first()
        or services.register_asset(
            commander, kind=AssetKind.VAN, identifier=f"DEMO-VAN-{n}", description=f"{MARK} van {n}"
        )
        for n in (1, 2, 3)
    ]


def _approved_list(compiler, commander, start, hours, at) -> Watchlist:
    """A synthetic list approved at `at` for a period from `start`."""
    watchlist = watchlists.create_watchlist(
        compiler,
        purpose=f"{MARK}: list for {start:%d %b %H:%M}",
        intended_start=start,
        intended_end=start + datetime.timedelta(hours=hours),
        now=at,
    )
    for subject in Subject.objects.filter(pnc_id__startswith="00/").order_by("pnc_id")[:2]:
        watchlists.add_entry(
            compiler,
            watchlist,
            subject=subject,
            image=subject.images.first(),
            category=Category.WANTED_BY_COURTS,
            justification=f"{MARK}: invented warrant for an invented person.",
            now=at,
        )
    review = watchlists.submit(compiler, watchlist, now=at)
    return watchlists.approve(commander, watchlist, content_hash=review.content_hash, comment=MARK, now=at)


def _team() -> list[User]:
    return list(User.objects.filter(username__in=TEAM))


def _deployment(officer, commander, place, watchlist, van, documents, at, ready=True) -> Deployment:
    """Planned four days ahead without a list, the notice published the day after, the list attached when compiled
    (`at`), then authorised: the order a force works in."""
    name, address, lat, lon, kind = place
    planned_at, noticed_at = at - datetime.timedelta(days=4), at - datetime.timedelta(days=3)
    deployment = services.plan(
        officer,
        location_name=name,
        address=address,
        latitude=Decimal(lat),
        longitude=Decimal(lon),
        location_type=kind,
        grounds=f"{MARK}: invented grounds for deploying at {name}.",
        evidence_refs="SYNTHETIC",
        start=watchlist.intended_start,
        end=watchlist.intended_end,
        threshold=Decimal("0.600"),
        assets=[van],
        documents=documents,
        team=_team(),
        now=planned_at,
    )
    services.publish_notice(officer, deployment, reference=f"{MARK}: force website", now=noticed_at)
    deployment = services.update_plan(officer, deployment, watchlist=watchlist, reason=f"{MARK}: the list compiled")
    services.authorise(commander, deployment, revision=deployment.revision, now=at)
    if ready:
        services.update_checklist(officer, deployment, signage_up=True, leaflets_available=True, briefing_done=True)
    return deployment


def seed(stdout) -> None:
    """Completed, live and upcoming synthetic deployments for the current time."""
    officer, commander = User.objects.get(username="officer"), User.objects.get(username="commander")
    compiler = User.objects.get(username="compiler")
    now = timezone.now().replace(second=0, microsecond=0)
    demo = Deployment.objects.filter(grounds__startswith=MARK)
    with transaction.atomic():
        documents, vans = _documents(commander), _assets(commander)
        if not demo.filter(state=DeploymentState.COMPLETED).exists():
            # Their figures are counted from their records, as every deployment's: these processed no frames, so they
            # publish zeros until the demo's deployments are fed real frames (issue 22).
            for days, place in ((9, PLACES[0]), (4, PLACES[1])):
                start = now - datetime.timedelta(days=days)
                at = start - datetime.timedelta(hours=3)
                watchlist = _approved_list(compiler, commander, start, 6, at)
                past = _deployment(officer, commander, place, watchlist, vans[0], documents, at)
                services.try_go_live(past, now=start + datetime.timedelta(minutes=1))
                services.complete(past, now=past.end)
            watchlists.sweep(now=now)  # their lists are purged, keeping manifests
        if not demo.filter(state=DeploymentState.LIVE, end__gt=now).exists():
            start = now - datetime.timedelta(minutes=30)
            at = start - datetime.timedelta(hours=1)
            watchlist = _approved_list(compiler, commander, start, 5, at)
            live = _deployment(officer, commander, PLACES[1], watchlist, vans[1], documents, at)
            services.try_go_live(live, now=now)
        upcoming_list = Watchlist.objects.filter(
            purpose__startswith=MARK, state=WatchlistState.APPROVED, intended_start__gt=now
        ).first()
        if upcoming_list is not None and not demo.filter(watchlist=upcoming_list).exists():
            _deployment(officer, commander, PLACES[2], upcoming_list, vans[2], documents, now, ready=False)
        for deployment in demo.filter(team=None):  # seeded before deployments had teams
            services.set_team(deployment.planned_by, deployment, _team(), reason=f"{MARK}: the demo officers' shift")
    counts = {state: demo.filter(state=state).count() for state in DeploymentState.values}
    stdout.write("Synthetic demo deployments: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + ".")
