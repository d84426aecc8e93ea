"""Shared fixtures (a pytest plugin): current documents, vans, an approved engine and list, a planned deployment."""

import datetime
from decimal import Decimal

import pytest

from apps.deployments import services
from apps.deployments.choices import AssetKind, DocumentKind, LocationType
from apps.deployments.models import Deployment


@pytest.fixture
def engine_approved(approvers, make_user):
    """The face engine in use is approved and countersigned (uncalibrated engines are allowed by the test settings)."""
    from apps.matching.services import engine_approval
    from govern.roles import Role

    countersigner = make_user("dpo-engine", Role.PRIVACY_OFFICER)
    return engine_approval.approve_engine(
        approvers.superintendent, reason="Test engine for the deployment tests.", countersigned_by=countersigner
    )


def enrol_on_engine_in_use(watchlist):
    """Templates of the engine in use for every entry of the approved version, as enrolment writes them, so the
    go-live gate's enrolment condition holds. The gallery's images are synthetic (no face for the quality gate), and
    these tests match no face: a unit vector per entry stands in for the embedding (idempotent)."""
    import numpy as np

    from apps.matching.engine import get_engine
    from apps.matching.models import WatchlistTemplate
    from apps.matching.services import enrolment

    engine = get_engine()
    made = WatchlistTemplate.objects.filter(
        watchlist=watchlist,
        approved_hash=watchlist.approved_hash,
        engine=engine.name,
        weights_sha256=engine.weights_sha256,
    )
    if made.exists():
        return watchlist
    rng = np.random.default_rng(watchlist.pk)
    for entry in watchlist.entries.all():
        vector = rng.standard_normal(engine.dimensions)
        made.create(
            watchlist=watchlist,
            approved_hash=watchlist.approved_hash,
            entry=entry,
            subject=entry.subject,
            embedding=(vector / np.linalg.norm(vector)).tolist(),
            engine=engine.name,
            weights_sha256=engine.weights_sha256,
        )
    enrolment.templates.cache_clear()
    return watchlist


@pytest.fixture
def documents(approvers, now):
    """An approved, current DPIA, EIA and APD, each recorded by one superintendent and approved by the other."""
    made = []
    for kind in DocumentKind.values:
        document = services.record_document(
            approvers.superintendent2,
            kind=kind,
            version="2026.1",
            title=f"{kind.upper()} for LFR",
            review_by=now.date() + datetime.timedelta(days=90),
        )
        made.append(services.approve_document(approvers.superintendent, document))
    return made


@pytest.fixture
def vans(approvers):
    return [
        services.register_asset(approvers.superintendent, kind=AssetKind.VAN, identifier=f"LFR-VAN-{n}") for n in (1, 2)
    ]


@pytest.fixture
def approved_list(approved_watchlist, approvers):
    """The draft's twin, approved by the second superintendent (the first authorises the deployments here), and
    enrolled on the engine in use."""
    return enrol_on_engine_in_use(approved_watchlist(approver=approvers.superintendent2))


PLACE = {
    "location_name": "Oxford Circus",
    "address": "Oxford Street, London W1",
    "latitude": Decimal("51.515200"),
    "longitude": Decimal("-0.141800"),
    "location_type": LocationType.CRIME_HOTSPOT,
    "grounds": "Robbery hotspot: 41 robberies in the last 28 days around the station exits.",
    "evidence_refs": "Crime analysis CA/2026/311",
}


# Plans are made days ahead, so their public notice (which may not predate the plan) can be in time.
EARLIER = datetime.timedelta(days=4)


def plan_deployment(planner, watchlist, **fields):
    """A deployment at PLACE planned for the watchlist's period, unless `fields` say otherwise."""
    fields = {"start": watchlist.intended_start, "end": watchlist.intended_end, **PLACE, **fields}
    return services.plan(planner, watchlist=watchlist, **fields)


def plan_body(watchlist, documents, **fields) -> dict:
    """What the API is sent to plan a deployment at PLACE for the watchlist's period, unless `fields` say otherwise."""
    return {
        **{name: str(value) for name, value in PLACE.items()},
        "start": watchlist.intended_start.isoformat(),
        "end": watchlist.intended_end.isoformat(),
        "watchlist": watchlist.pk,
        "threshold": "0.600",
        "documents": [document.pk for document in documents],
        **fields,
    }


@pytest.fixture
def planned(actors, approved_list, documents, vans, now, engine_approved):
    """Planned by an officer for the watchlist's period, with van 1, every document and the officer on its team."""
    return plan_deployment(
        actors.officer, approved_list, assets=[vans[0]], documents=documents, team=[actors.officer], now=now - EARLIER
    )


def go_live(deployment, commander, officer, now):
    """The commander authorises the deployment, the officer gets it ready a day ahead, and it goes live at `now`."""
    services.authorise(commander, deployment, revision=deployment.revision, now=now)
    enrol_on_engine_in_use(deployment.watchlist)
    ready(deployment, officer, now - datetime.timedelta(days=1))
    went, conditions = services.try_go_live(deployment, now=now)
    assert went, [c for c in conditions if not c.ok]
    return Deployment.objects.get(pk=deployment.pk)


def ready(deployment, actor, now):
    """Publish notice in time (two days before `now`, recorded then) and tick the checklist."""
    published = now - datetime.timedelta(days=2)
    services.publish_notice(
        actor, deployment, published_at=published, reference="force website, 20 Nov 2026", now=published
    )
    return services.update_checklist(actor, deployment, signage_up=True, leaflets_available=True, briefing_done=True)
