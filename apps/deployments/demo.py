"""Synthetic demo deployments: one authorised for now (the matching demo enrols its list and takes it live), one
upcoming awaiting its checklist, and what the matching demo needs to
make the completed ones (it posts their frames while they are live, so it makes them: `authorised`, `van`).

Places are real-sounding but the deployments and lists are invented and marked SYNTHETIC DEMO. Every demo deployment
runs at the configured threshold (MATCH_THRESHOLD): `make run` configures 0.900 for dlib's engine and 1.000 for an
uncalibrated one (README, The demo). Idempotent: it adds what is missing for the current time.
"""

import datetime
from decimal import Decimal

from django.conf import settings
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
# With the uncalibrated engine every demo deployment's list holds the first LISTED synthetic subjects (the order of
# watchlist_demo.SUBJECTS), each with their one custody image: the photographs the demo camera holds up. With an engine
# that recognises people it holds the stand-in alone, whom the demo camera shows in another photograph.
LISTED = 2


def listed() -> list[str]:
    """The PNC IDs of the subjects every demo deployment's list holds, in the order the demo camera shows them."""
    if watchlist_demo.real_faces():
        return [watchlist_demo.STAND_IN_PNC]
    return [row[5] for row in watchlist_demo.SUBJECTS[:LISTED]]


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
    ("Market square, Saturday market", "Market Square, Demo Town", "51.5100", "-0.1100", LocationType.CRIME_HOTSPOT),
]


def _documents(commander) -> list[PolicyDocument]:
    privacy = User.objects.get(username="privacy")  # writes the documents; the commander approves them (four eyes)
    found = []
    for kind in DocumentKind.values:
        document = PolicyDocument.objects.filter(kind=kind, version="DEMO-1").first()
        if document is None:
            document = services.record_document(
                privacy,
                kind=kind,
                version="DEMO-1",
                title=f"{MARK}: {DocumentKind(kind).label}",
                review_by=timezone.localdate() + datetime.timedelta(days=365),
            )
            services.approve_document(commander, document)
        found.append(document)
    return found


def van(number: int) -> Asset:
    """The demo's van `number` (1 to 3), registered by the commander if missing."""
    return Asset.objects.filter(identifier=f"DEMO-VAN-{number}").first() or services.register_asset(
        User.objects.get(username="commander"),
        kind=AssetKind.VAN,
        identifier=f"DEMO-VAN-{number}",
        description=f"{MARK} van {number}",
    )


def _approved_list(compiler, commander, start, end, at) -> Watchlist:
    """A synthetic list of the listed() subjects approved at `at` for the period from `start` to `end`."""
    watchlist = watchlists.create_watchlist(
        compiler, purpose=f"{MARK}: list for {start:%d %b %H:%M}", intended_start=start, intended_end=end, now=at
    )
    for subject in Subject.objects.filter(pnc_id__in=listed()).order_by("pnc_id"):
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


def _engine_note(threshold: Decimal) -> str:
    """What the grounds say of the engine: without real weights (the banner's test) it recognises nobody."""
    if watchlist_demo.real_faces():
        return (
            f" The face engine ({settings.FACE_ENGINE}) recognises people; the demo runs at threshold {threshold}, and"
            " its camera shows the listed stand-in in another photograph and other people passing by."
        )
    if threshold == 1:
        return (
            " The face engine is uncalibrated (random weights) and recognises nobody: it scores every face above"
            " 0.999, so this demo runs at threshold 1.000, where of what the demo camera shows only the enrolled"
            " photographs themselves alert."
        )
    return (
        " The face engine is uncalibrated (random weights) and recognises nobody: it scores every face above 0.999,"
        f" so at threshold {threshold} every face alerts."
    )


def _deployment(officer, commander, place, watchlist, van, documents, at, ready=True) -> Deployment:
    """Planned four days ahead without a list, the notice published the day after, the list attached when compiled
    (`at`), then authorised: the order a force works in."""
    name, address, lat, lon, kind = place
    planned_at, noticed_at = at - datetime.timedelta(days=4), at - datetime.timedelta(days=3)
    threshold = settings.MATCH_THRESHOLD
    deployment = services.plan(
        officer,
        location_name=name,
        address=address,
        latitude=Decimal(lat),
        longitude=Decimal(lon),
        location_type=kind,
        grounds=f"{MARK}: invented grounds for deploying at {name}.{_engine_note(threshold)}",
        evidence_refs="SYNTHETIC",
        start=watchlist.intended_start,
        end=watchlist.intended_end,
        threshold=threshold,
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


def authorised(place, van: Asset, start, end, *, at) -> Deployment:
    """A synthetic deployment at `place` from `start` to `end` with `van`, ready to go live: its list of the listed()
    subjects approved and the deployment authorised at `at` (planned four days before)."""
    officer, commander = User.objects.get(username="officer"), User.objects.get(username="commander")
    watchlist = _approved_list(User.objects.get(username="compiler"), commander, start, end, at)
    return _deployment(officer, commander, place, watchlist, van, _documents(commander), at)


def live_now(now=None) -> Deployment | None:
    """The demo deployment matching frames now, if any (the latest to start)."""
    found = Deployment.objects.filter(grounds__startswith=MARK, state=DeploymentState.LIVE).select_related("watchlist")
    return next((deployment for deployment in found.order_by("-start") if services.is_live(deployment, now)), None)


def seed(stdout) -> None:
    """A live and an upcoming synthetic deployment for the current time (the completed ones are the matching
    demo's)."""
    officer, commander = User.objects.get(username="officer"), User.objects.get(username="commander")
    now = timezone.now().replace(second=0, microsecond=0)
    demo = Deployment.objects.filter(grounds__startswith=MARK)
    with transaction.atomic():
        documents, vans = _documents(commander), [van(n) for n in (1, 2, 3)]
        if not demo.filter(state=DeploymentState.LIVE, end__gt=now).exists():
            start = now - datetime.timedelta(minutes=30)
            # Authorised only: the matching demo enrols its list on the engine in use and takes it live (the gate
            # refuses a list with no templates of that engine, so trying here was refused and logged every time).
            authorised(
                PLACES[1], vans[1], start, start + datetime.timedelta(hours=5), at=start - datetime.timedelta(hours=1)
            )
        upcoming_list = Watchlist.objects.filter(
            purpose__startswith=MARK, state=WatchlistState.APPROVED, intended_start__gt=now
        ).first()
        if upcoming_list is not None and not demo.filter(watchlist=upcoming_list).exists():
            _deployment(officer, commander, PLACES[2], upcoming_list, vans[2], documents, now, ready=False)
        for deployment in demo.filter(team=None):  # seeded before deployments had teams
            services.set_team(deployment.planned_by, deployment, _team(), reason=f"{MARK}: the demo officers' shift")
    counts = {state: demo.filter(state=state).count() for state in DeploymentState.values}
    stdout.write("Synthetic demo deployments: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + ".")
