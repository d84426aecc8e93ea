"""Every change to deployments, assets and documents: permission, one transaction, the change, its audit event.

The lifecycle is planned → authorised → live → completed, or cancelled, or suspended (and resumed), or stopped in an
emergency (authorised anew before it runs again). Going live
needs every gate condition to hold at that moment; `gate()` says which hold and why not, and the schedule
(`run_schedule`, idempotent, with a dry run) moves deployments itself, recording when one could not go live.
"""

import datetime
import math
import re
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit import services as audit
from apps.audit.models import Event
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Watchlist
from apps.watchlists.services import watchlists
from govern import places, policy, prepared, records
from govern.errors import Conflict, PreconditionFailed
from govern.roles import Role

from .choices import (
    BOOKING_STATES,
    DOCUMENT_REVIEW_NOTICE_DAYS,
    STOPPABLE_STATES,
    DeploymentState,
    DocumentKind,
    LocationType,
)
from .models import Asset, Deployment, PolicyDocument, PublishedFigures
from .signals import asset_retired

PLAN_FIELDS = (
    "location_name",
    "address",
    "latitude",
    "longitude",
    "location_type",
    "grounds",
    "evidence_refs",
    "start",
    "end",
    "watchlist",
    "threshold",
)
OUTCOME_FIELDS = (
    "faces_processed",
    "alerts",
    "true_alerts",
    "false_alerts",
    "engagements",
    "arrests",
    "other_outcomes",
)
REVIEW_HORIZON_YEARS = 5  # a review date further off is a typing slip (2062 for 2026)
_BOOKING_LOCK = 7_245_001  # one advisory lock serialises bookings, so two planners never double-book


# --- Assets and documents ------------------------------------------------------------------------------------------


@transaction.atomic
def register_asset(actor, *, kind: str, identifier: str, description: str = "") -> Asset:
    """Register a van or camera."""
    policy.require(actor, "deployments.add_asset")
    asset = Asset(kind=kind, identifier=identifier.strip(), description=description.strip())
    asset.full_clean()
    asset.save()
    audit.record("asset.create", asset, actor, data={"kind": kind, "identifier": asset.identifier})
    return asset


def _bookings_of(asset: Asset, now) -> list[str]:
    """The references of the deployments that hold the asset now or later (planned, authorised, live, suspended)."""
    held = Deployment.objects.filter(assets=asset, state__in=BOOKING_STATES, end__gt=now).order_by("start")
    return list(held.values_list("reference", flat=True))


@transaction.atomic
def retire_asset(actor, asset: Asset, *, reason: str, now=None) -> Asset:
    """Retire a van or camera: it can no longer be booked, and its camera credentials admit no frame (matching revokes
    them when told). One still booked on a deployment that has not ended is refused: take it off the plan first."""
    now = records.moment(now)
    with connection.cursor() as cursor:  # the bookings' lock: no plan books it between the check and the retirement
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_BOOKING_LOCK])
    locked = Asset.objects.select_for_update().get(pk=asset.pk)
    policy.require(actor, "deployments.retire_asset", locked)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the asset is retired."})
    if not locked.active:
        raise Conflict(f"{locked} is already retired.")
    booked = _bookings_of(locked, now)
    if booked:
        raise Conflict(f"{locked} is booked on {', '.join(booked)}: take it off those plans (or let them end) first.")
    locked.active = False
    locked.save()
    audit.record("asset.retire", locked, actor, data={"identifier": locked.identifier}, reason=reason.strip())
    asset_retired.send(sender=Asset, asset=locked, actor=actor)
    return locked


@transaction.atomic
def record_document(
    actor, *, kind: str, version: str, title: str, review_by: datetime.date, reference: str = ""
) -> PolicyDocument:
    """Record a new version of a DPIA, EIA or appropriate policy document (unapproved until approved)."""
    policy.require(actor, "deployments.add_policydocument")
    today = timezone.localdate()
    if not today <= review_by <= today + datetime.timedelta(days=366 * REVIEW_HORIZON_YEARS):
        raise ValidationError(
            {"review_by": f"A new version is reviewed between today and {REVIEW_HORIZON_YEARS} years from now."}
        )
    document = PolicyDocument(
        kind=kind,
        version=version.strip(),
        title=title.strip(),
        reference=reference.strip(),
        review_by=review_by,
        recorded_by=actor,
    )
    document.full_clean(exclude=["recorded_by"])
    document.save()
    audit.record(
        "document.create",
        document,
        actor,
        data={
            "kind": kind,
            "version": document.version,
            "title": document.title,
            "review_by": review_by,
        },
    )
    return document


@transaction.atomic
def approve_document(actor, document: PolicyDocument, *, approved_on: datetime.date | None = None) -> PolicyDocument:
    """Approve a document version."""
    document = PolicyDocument.objects.select_for_update().get(pk=document.pk)
    policy.require(actor, "deployments.approve_policydocument", document)
    if document.approved_on is not None:
        raise Conflict(f"{document} was already approved on {document.approved_on}.")
    document.approved_on = approved_on or timezone.localdate()
    document.approved_by = actor
    document.save()
    audit.record("document.approve", document, actor, data={"approved_on": document.approved_on})
    return document


def document_problem(document: PolicyDocument | None, kind: str, on: datetime.date) -> str | None:
    """Why this document does not count as current on a day, or None."""
    label = DocumentKind(kind).label
    if document is None:
        return f"No {label} is attached."
    if document.approved_on is None:
        return f"The {label} ({document.version}) is not approved."
    if document.review_by < on:
        return f"The {label} ({document.version}) was due for review on {document.review_by}."
    return None


def documents_problems(deployment: Deployment, on: datetime.date) -> list[str]:
    """Each required document kind must be attached, approved and within its review date."""
    attached = {doc.kind: doc for doc in deployment.documents.order_by("recorded_at")}
    problems = [document_problem(attached.get(kind), kind, on) for kind in DocumentKind.values]
    return [problem for problem in problems if problem]


@dataclass(frozen=True)
class DocumentStanding:
    """One document version as its register shows it: whether it counts now, and what relies on it."""

    document: PolicyDocument
    status: str  # "unapproved", "current", "due" (review within the notice period) or "overdue"
    relying: list[str]  # deployments not yet ended that it is attached to
    past_review: list[str]  # those of them that run past its review date (the gate would stop them)


def document_register(on: datetime.date) -> list[DocumentStanding]:
    """Every document version with its standing on a day, and the deployments that rely on it."""
    notice = on + datetime.timedelta(days=DOCUMENT_REVIEW_NOTICE_DAYS)
    now = timezone.now()
    register = []
    for document in PolicyDocument.objects.select_related("recorded_by", "approved_by").order_by(
        "kind", "-recorded_at"
    ):
        if document.approved_on is None:
            status = "unapproved"
        elif document.review_by < on:
            status = "overdue"
        elif document.review_by <= notice:
            status = "due"
        else:
            status = "current"
        relying = document.deployments.filter(state__in=BOOKING_STATES, end__gt=now).order_by("start")
        past = [d.reference for d in relying if timezone.localdate(d.end) > document.review_by]
        register.append(DocumentStanding(document, status, [d.reference for d in relying], past))
    return register


# --- Planning ------------------------------------------------------------------------------------------------------


def _distance_metres(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance (haversine), plenty for 'the same place'."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp, dl = p2 - p1, math.radians(float(lon2) - float(lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def _check_bookings(deployment: Deployment, assets, *, added=None) -> None:
    """No retired van or camera newly booked; no van or camera in two deployments at once; no two deployments at one
    place at once; every clash at once. `added`: the assets new to the plan (all of them when None)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_BOOKING_LOCK])
    errors: dict = {}
    for asset in assets if added is None else added:
        if not Asset.objects.filter(pk=asset.pk, active=True).exists():  # read under the lock: retired meanwhile
            errors.setdefault("assets", []).append(f"{asset} is retired: it cannot be booked.")
    for asset in assets:
        clash = booked(deployment.start, deployment.end, exclude=deployment.pk).filter(assets=asset).first()
        if clash is not None:
            errors.setdefault("assets", []).append(
                f"{asset} is booked for {clash.reference} ({clash.start:%Y-%m-%d %H:%M} to {clash.end:%H:%M})."
            )
    radius = settings.DEPLOYMENT_PLACE_RADIUS_METRES
    for other in booked(deployment.start, deployment.end, exclude=deployment.pk):
        near = _distance_metres(deployment.latitude, deployment.longitude, other.latitude, other.longitude) <= radius
        if near or other.location_name.strip().lower() == deployment.location_name.strip().lower():
            errors.setdefault("location_name", []).append(
                f"{other.reference} is at the same place ({other.location_name}) at an overlapping time."
            )
    if errors:
        raise ValidationError(errors)


def booked(start, end, exclude=None):
    """The deployments that hold their vans, cameras and place from `start` to `end` (bar the one `exclude`)."""
    return Deployment.objects.filter(state__in=BOOKING_STATES, start__lt=end, end__gt=start).exclude(pk=exclude)


def _plan_data(deployment: Deployment) -> dict:
    data = {field: getattr(deployment, field) for field in PLAN_FIELDS if field != "watchlist"}
    data["watchlist"] = deployment.watchlist_id
    data["assets"] = sorted(deployment.assets.values_list("identifier", flat=True))
    data["documents"] = sorted(f"{d.kind}:{d.version}" for d in deployment.documents.all())
    data["team"] = _team_names(deployment)
    return data


def _team_names(deployment: Deployment) -> list[str]:
    return sorted(deployment.team.values_list("username", flat=True))


def _checked_team(officers) -> list:
    """The team as given, if everyone on it is an active officer (the team is who sees the alerts)."""
    members = list(officers)
    refused = sorted(user.get_username() for user in members if not (user.is_active and user.has_role(Role.OFFICER)))
    if refused:
        raise ValidationError({"team": f"Only active officers work at a deployment, not: {', '.join(refused)}."})
    return members


def _validate_plan(deployment: Deployment, *, checked=()) -> None:
    """Every problem of a plan at once (`checked`: fields already refused, not checked again)."""
    errors: dict = {}
    if deployment.location_type not in LocationType.values:
        errors["location_type"] = [f"Choose one of: {', '.join(LocationType.values)}."]
    if not deployment.grounds.strip():
        errors["grounds"] = ["Record the grounds for deploying here."]
    if deployment.start and deployment.end and deployment.end <= deployment.start:
        errors["end"] = ["The end must be after the start."]
    if deployment.watchlist is not None and deployment.watchlist.state in (
        WatchlistState.EXPIRED,
        WatchlistState.PURGED,
    ):
        errors["watchlist"] = [f"{deployment.watchlist.reference} has expired."]
    excluded = ["planned_by", "watchlist", "assets", "documents", *errors, *checked]
    records.gather(errors, lambda: deployment.full_clean(exclude=excluded))
    if "threshold" not in errors and deployment.threshold < settings.MATCH_THRESHOLD_FLOOR:
        floor = settings.MATCH_THRESHOLD_FLOOR
        errors["threshold"] = [f"{deployment.threshold} is below the floor {floor}: no deployment runs."]
    if errors:
        raise ValidationError(errors)


# A postcode or district at the end of an address, after a comma: the one a new postcode replaces.
TRAILING_POSTCODE = re.compile(r",\s*[A-Z]{1,2}[0-9][0-9A-Z]?(\s*[0-9][A-Z]{2})?\s*$", re.IGNORECASE)


def _place(postcode: str, latitude, longitude, address: str) -> dict:
    """The place's fields: its coordinates from the postcode (or district) when none are typed, typed ones checked to
    be in the United Kingdom (govern.places), and the postcode at the end of the address."""
    place = places.locate(postcode=postcode, latitude=latitude, longitude=longitude)
    fields = {"latitude": place.latitude, "longitude": place.longitude}
    if place.postcode and address.strip():
        street = TRAILING_POSTCODE.sub("", address.strip().rstrip(","))
        fields["address"] = f"{street}, {place.postcode}"
    return fields


PLACE_FIELDS = ("postcode", "latitude", "longitude", "address")


@transaction.atomic
def plan(
    actor, *, assets=(), documents=(), team=(), reference: str = "", postcode: str = "", now=None, **fields
) -> Deployment:
    """Plan a deployment: place and grounds, period, list, threshold, assets, documents and the officers' team. The
    place is given by its postcode (or district), by latitude and longitude, or both (govern.places)."""
    policy.require(actor, "deployments.add_deployment")
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown deployment fields: {', '.join(sorted(unknown))}.")
    team = _checked_team(team)
    now = records.moment(now)
    errors: dict = {}
    records.gather(
        errors,
        lambda: fields.update(
            _place(postcode, fields.get("latitude"), fields.get("longitude"), fields.get("address", ""))
        ),
    )
    deployment = Deployment(
        reference=reference or records.next_reference(Deployment, "LFR", now),
        planned_by=actor,
        planned_at=now,
        **fields,
    )
    records.gather(errors, lambda: _validate_plan(deployment, checked=PLACE_FIELDS if errors else ()))
    if "end" not in errors and deployment.end <= now:
        errors["end"] = ["The deployment would already be over."]
    if errors:
        raise ValidationError(errors)
    _check_bookings(deployment, assets)
    try:
        with transaction.atomic():
            deployment.save()
    except IntegrityError as exc:
        raise Conflict(f"The reference {deployment.reference} is taken; try again.") from exc
    deployment.assets.set(assets)
    deployment.documents.set(documents)
    deployment.team.set(team)
    audit.record("deployment.plan", deployment, actor, data=_plan_data(deployment))
    return deployment


@transaction.atomic
def set_team(actor, deployment: Deployment, team, *, reason: str = "") -> Deployment:
    """Set the officers who work the deployment, and so see its alerts; the planner or a commander does.

    The team is not part of what was authorised, so changing it (a new shift, say) keeps the authorisation.
    """
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    policy.require(actor, "deployments.change_team", locked)
    team = _checked_team(team)
    before = _team_names(locked)
    locked.team.set(team)
    after = _team_names(locked)
    if after != before:  # no event without a change
        audit.record("deployment.team", locked, actor, data={"before": before, "after": after}, reason=reason)
    return locked


def _check_revision(locked: Deployment, expected_revision: int | None, doing: str) -> None:
    """Refuse with 412 when the plan moved on since the revision the person reviewed, saying what changed."""
    if expected_revision is None or expected_revision == locked.revision:
        return
    changed = set()
    events = Event.objects.filter(action="deployment.update", target_type=Deployment._meta.label_lower,
                                  target_id=str(locked.pk))  # fmt: skip
    for event in events:
        if (event.data.get("revision") or 0) > expected_revision:
            changed.update(event.data.get("changed", {}))
    what = ", ".join(sorted(changed)) or "the plan"
    raise PreconditionFailed(
        f"{locked.reference} changed since you reviewed revision {expected_revision}: it is at revision "
        f"{locked.revision} ({what} changed). Review it again before you {doing}."
    )


@transaction.atomic
def update_plan(
    actor,
    deployment: Deployment,
    *,
    reason: str,
    expected_revision: int | None = None,
    assets=None,
    documents=None,
    postcode: str | None = None,
    **changes,
) -> Deployment:
    """Change a plan; an authorised deployment goes back to planned and needs authorising again (the reason logged).
    The change moves the plan's revision and makes the actor one of its editors, who may never authorise it. A new
    postcode (or district) moves the place to it, as when planning."""
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    policy.require(actor, "deployments.change_deployment", locked)
    _check_revision(locked, expected_revision, "change it")
    unknown = set(changes) - set(PLAN_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown deployment fields: {', '.join(sorted(unknown))}.")
    if locked.state not in (DeploymentState.PLANNED, DeploymentState.AUTHORISED, DeploymentState.STOPPED):
        raise Conflict(f"{locked.reference} is {locked.get_state_display().lower()}; its plan can no longer change.")
    before = _plan_data(locked)
    if postcode is not None or {"latitude", "longitude"} & set(changes):
        # A new postcode alone moves the place to it; coordinates typed are checked, with the postcode if given.
        typed = {"latitude", "longitude"} & set(changes)
        changes.update(
            _place(
                postcode or "",
                changes.get("latitude", locked.latitude) if typed else None,
                changes.get("longitude", locked.longitude) if typed else None,
                changes.get("address", locked.address) if postcode else "",
            )
        )
    for field, value in changes.items():
        setattr(locked, field, value)
    _validate_plan(locked)
    held = set(locked.assets.values_list("pk", flat=True))
    _check_bookings(
        locked,
        assets if assets is not None else locked.assets.all(),
        added=[asset for asset in assets if asset.pk not in held] if assets is not None else [],
    )
    if assets is not None:
        locked.assets.set(assets)
    if documents is not None:
        locked.documents.set(documents)
    after = _plan_data(locked)
    changed = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if not changed:
        return locked  # nothing changed: no new revision, no withdrawal, no event
    was_authorised = locked.state == DeploymentState.AUTHORISED
    if was_authorised:
        if not reason.strip():
            raise ValidationError({"reason": "Say why the authorised plan changes: the authorisation is withdrawn."})
        locked.state = DeploymentState.PLANNED
        locked.authorised_by, locked.authorised_at, locked.authorised_watchlist_hash = None, None, ""
    locked.revision += 1
    locked.save()
    locked.editors.add(actor)
    audit.record(
        "deployment.update",
        locked,
        actor,
        data={"changed": changed, "authorisation_withdrawn": was_authorised, "revision": locked.revision},
        reason=reason,
    )
    return locked


# --- Authorisation, notice, checklist ------------------------------------------------------------------------------


@transaction.atomic
def authorise(actor, deployment: Deployment, *, revision: int | None, now=None) -> Deployment:
    """Authorise the plan at the revision the officer reviewed, binding it to the watchlist version approved now; a
    deployment stopped in an emergency runs again only by this, a new authorisation."""
    now = records.moment(now)
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    policy.require(actor, "deployments.authorise_deployment", locked)
    if revision is None:
        raise ValidationError(
            {"revision": "Say which revision of the plan you reviewed: authorisation is bound to it."}
        )
    _check_revision(locked, revision, "authorise it")
    if locked.state not in (DeploymentState.PLANNED, DeploymentState.STOPPED):
        raise Conflict(f"{locked.reference} is {locked.get_state_display().lower()}, not planned.")
    if locked.end <= now:
        raise ValidationError("The deployment's period has ended.")
    problems = documents_problems(locked, timezone.localdate(now))
    watchlist = locked.watchlist
    if watchlist is None:
        problems.append("No watchlist is attached yet: the planner attaches the approved list first.")
    elif not watchlists.in_force(watchlist, now):
        problems.append(
            f"The watchlist {watchlist.reference} is not approved and in force "
            f"(it is {watchlist.get_state_display().lower()})."
        )
    elif watchlists.content_hash(watchlists.snapshot(watchlist)) != watchlist.approved_hash:
        problems.append(
            f"The watchlist {watchlist.reference} was approved for a different content hash than it holds now: "
            "it must be approved again."
        )
    else:
        problems += watchlists.approval_refusals(watchlist)  # a threshold changed since may not suit its size
    if problems:
        raise ValidationError({"authorisation": problems})
    assert watchlist is not None  # refused above
    locked.state = DeploymentState.AUTHORISED
    locked.authorised_by, locked.authorised_at = actor, now
    locked.authorised_watchlist_hash = watchlist.approved_hash
    locked.save()
    audit.record(
        "deployment.authorise",
        locked,
        actor,
        data={
            "revision": locked.revision,
            "watchlist": watchlist.reference,
            "watchlist_version": watchlist.approved_version,
            "watchlist_hash": watchlist.approved_hash,
            "threshold": locked.threshold,
            "documents": sorted(f"{d.kind}:{d.version}" for d in locked.documents.all()),
        },
    )
    return locked


# A stated time a little ahead of the server's clock is the person's clock, not the future.
NOTICE_CLOCK_SKEW = datetime.timedelta(minutes=2)


@transaction.atomic
def publish_notice(
    actor, deployment: Deployment, *, reference: str, published_at: datetime.datetime | None = None, now=None
) -> Deployment:
    """Record the advance public notice: where, and when it was published. Unstated, that is now (when it is
    recorded); a stated time is no earlier than the plan and never in the future, so no notice can be backdated
    past the go-live gate."""
    now = records.moment(now)
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    policy.require(actor, "deployments.change_deployment", locked)
    if not reference.strip():
        raise ValidationError({"reference": "Say where the notice was published."})
    published_at = now if published_at is None else published_at
    if published_at > now + NOTICE_CLOCK_SKEW:
        raise ValidationError({"published_at": "A notice cannot be published in the future: record it once it is."})
    if published_at < locked.planned_at:
        planned = timezone.localtime(locked.planned_at)
        raise ValidationError(
            {"published_at": f"A notice cannot predate the plan it announces (planned {planned:%Y-%m-%d %H:%M})."}
        )
    locked.notice_published_at, locked.notice_reference = published_at, reference.strip()
    locked.save()
    audit.record(
        "deployment.notice", locked, actor,
        data={"published_at": published_at, "recorded_at": now, "reference": reference},
    )  # fmt: skip
    return locked


@transaction.atomic
def exempt_notice(actor, deployment: Deployment, *, reason: str) -> Deployment:
    """An authorising officer exempts the deployment from advance notice (a critical threat), with the reason."""
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    policy.require(actor, "deployments.exempt_notice", locked)
    if len(reason.strip()) < 20:
        raise ValidationError({"reason": "Write the reason for the exemption (at least 20 characters)."})
    locked.notice_exemption_reason, locked.notice_exempted_by = reason.strip(), actor
    locked.save()
    audit.record("deployment.notice_exempt", locked, actor, reason=reason)
    return locked


@transaction.atomic
def update_checklist(actor, deployment: Deployment, **ticks: bool) -> Deployment:
    """Tick the on-site checklist: signage up, leaflets available, briefing done."""
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    policy.require(actor, "deployments.run_deployment", locked)
    allowed = {"signage_up", "leaflets_available", "briefing_done"}
    if not ticks or set(ticks) - allowed:
        raise ValidationError(f"Tick one of: {', '.join(sorted(allowed))}.")
    for field, value in ticks.items():
        setattr(locked, field, bool(value))
    locked.save()
    audit.record("deployment.checklist", locked, actor, data={f: getattr(locked, f) for f in sorted(allowed)})
    return locked


# --- The gate and the lifecycle ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One condition of the go-live gate, whether it holds, and why not."""

    name: str
    ok: bool
    detail: str


# Conditions the apps above this one add to the gate (matching adds the engine's): (deployment, now) -> Condition.
EXTRA_GATE_CONDITIONS: list = []


def add_gate_condition(check):
    """Register one more go-live condition."""
    if check not in EXTRA_GATE_CONDITIONS:
        EXTRA_GATE_CONDITIONS.append(check)
    return check


def list_version(deployment: Deployment) -> str:
    """The hash of the list's version the deployment matches with: as authorised, else the one approved now."""
    watchlist = deployment.watchlist
    return deployment.authorised_watchlist_hash or (watchlist.approved_hash if watchlist else "")


def gate(deployment: Deployment, now=None) -> list[Condition]:
    """Every condition for going live, checked now."""
    now = records.moment(now)
    watchlist = deployment.watchlist
    conditions = []

    def check(name: str, ok: bool, good: str, bad: str) -> None:
        conditions.append(Condition(name, ok, good if ok else bad))

    authorised = deployment.authorised_at is not None and deployment.state != DeploymentState.PLANNED
    stopped = deployment.state == DeploymentState.STOPPED
    check(
        "authorisation",
        authorised and not stopped,
        "Authorised.",
        "Stopped in an emergency: it needs a new authorisation." if stopped else "Not authorised.",
    )
    check(
        "period",
        deployment.start <= now < deployment.end,
        "Within its period.",
        f"Outside its period ({deployment.start:%Y-%m-%d %H:%M} to {deployment.end:%Y-%m-%d %H:%M}).",
    )
    if watchlist is None:
        check("watchlist", False, "", "No watchlist attached yet.")
        check("watchlist_hash", False, "", "No watchlist attached yet.")
    else:
        check(
            "watchlist",
            watchlists.in_force(watchlist, now),
            f"{watchlist.reference} is approved and in force.",
            f"{watchlist.reference} is not in force ({watchlist.get_state_display().lower()}).",
        )
        check(
            "watchlist_hash",
            bool(watchlist.approved_hash) and watchlist.approved_hash == deployment.authorised_watchlist_hash,
            "The approved list is the one authorised.",
            "The watchlist's approved version is not the one that was authorised.",
        )
    documents = documents_problems(deployment, timezone.localdate(now))
    check("documents", not documents, "DPIA, EIA and APD are current.", " ".join(documents))
    notice_due = deployment.start - datetime.timedelta(hours=settings.DEPLOYMENT_NOTICE_HOURS)
    published_in_time = deployment.notice_published_at is not None and deployment.notice_published_at <= notice_due
    check(
        "public_notice",
        published_in_time or bool(deployment.notice_exemption_reason),
        "Advance notice published in time, or exempted.",
        f"No advance notice published by {timezone.localtime(notice_due):%Y-%m-%d %H:%M} and no exemption.",
    )
    ticks = {
        "signage": deployment.signage_up,
        "leaflets": deployment.leaflets_available,
        "briefing": deployment.briefing_done,
    }
    missing = [label for label, done in ticks.items() if not done]
    check("checklist", not missing, "Signage, leaflets and briefing done.", f"Not done on site: {', '.join(missing)}.")
    conditions.extend(extra(deployment, now) for extra in EXTRA_GATE_CONDITIONS)
    return conditions


def gate_passes(conditions: list[Condition]) -> bool:
    """Whether every condition holds."""
    return all(condition.ok for condition in conditions)


def is_live(deployment: Deployment, now=None) -> bool:
    """Whether matching may run for this deployment now: live, within its period, list still in force."""
    now = records.moment(now)
    return (
        deployment.state == DeploymentState.LIVE
        and deployment.start <= now < deployment.end
        and deployment.watchlist is not None
        and watchlists.in_force(deployment.watchlist, now)
        and deployment.watchlist.approved_hash == deployment.authorised_watchlist_hash
    )


# What opens and closes a deployment's live periods, as its audit events record them (the log is the record of when
# matching ran: the deployment's row keeps only its latest state).
_GOES_LIVE = ("deployment.go_live", "deployment.resume")
_LEAVES_LIVE = (
    "deployment.suspend",
    "deployment.emergency_stop",
    "deployment.end_early",
    "deployment.complete",
    "deployment.cancel",
)


def live_periods(deployment: Deployment, now=None) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The periods in which the deployment was live, oldest first, from its events: each from a go-live or resume to
    the suspension, stop or end that followed it (or to now, while it is live), never past its planned end. A capture
    agent's tracks seen within one are accepted even when they reach Govern after it (a link that dropped)."""
    now = records.moment(now)
    events = Event.objects.filter(
        target_type="deployments.deployment", target_id=str(deployment.pk), action__in=_GOES_LIVE + _LEAVES_LIVE
    ).order_by("seq")
    rows = list(events.values_list("action", "created_at"))
    last_go_live = max((i for i, (action, _) in enumerate(rows) if action == "deployment.go_live"), default=None)
    periods, opened = [], None
    for index, (action, at) in enumerate(rows):
        if action in _GOES_LIVE and opened is None:
            # The latest go-live's moment is the one the service recorded (went_live_at), its event a moment later.
            opened = deployment.went_live_at if index == last_go_live and deployment.went_live_at else at
        elif action in _LEAVES_LIVE and opened is not None:
            periods.append((opened, at))
            opened = None
    if opened is not None:
        periods.append((opened, now))
    return [
        (max(start, deployment.start), min(end, deployment.end)) for start, end in periods if start < deployment.end
    ]


def _report(conditions: list[Condition]) -> list[dict]:
    return [asdict(condition) for condition in conditions]


@transaction.atomic
def try_go_live(deployment: Deployment, *, actor=None, now=None) -> tuple[bool, list[Condition]]:
    """Go live if every gate condition holds; otherwise record which did not (once per distinct failure)."""
    now = records.moment(now)
    locked = Deployment.objects.select_for_update(of=("self",)).select_related("watchlist").get(pk=deployment.pk)
    if actor is not None:
        policy.require(actor, "deployments.go_live", locked)
    if locked.state != DeploymentState.AUTHORISED:
        raise Conflict(f"{locked.reference} is {locked.get_state_display().lower()}, not authorised.")
    conditions = gate(locked, now)
    report = _report(conditions)
    if not gate_passes(conditions):
        failing = [c for c in report if not c["ok"]]
        if locked.last_gate_report != report:  # idempotent: the same refusal is logged once
            locked.last_gate_report = report
            locked.save(update_fields=["last_gate_report"])
            audit.record("deployment.go_live_refused", locked, actor, data={"failing": failing})
        return False, conditions
    locked.state, locked.went_live_at, locked.last_gate_report = DeploymentState.LIVE, now, report
    locked.save()
    audit.record("deployment.go_live", locked, actor, data={"gate": report})
    return True, conditions


def _complete(locked: Deployment, now) -> Watchlist:
    """Mark a locked deployment that ran (live, suspended, or stopped or authorised anew after it had run) completed
    now and set its watchlist's purge. One that never went live is cancelled instead, never completed."""
    had_run = locked.went_live_at is not None and locked.state in (DeploymentState.STOPPED, DeploymentState.AUTHORISED)
    if locked.state not in (DeploymentState.LIVE, DeploymentState.SUSPENDED) and not had_run:
        raise Conflict(f"{locked.reference} is {locked.get_state_display().lower()} and has not run: cancel it.")
    locked.state, locked.completed_at = DeploymentState.COMPLETED, now
    locked.save()
    PublishedFigures.objects.get_or_create(deployment=locked)
    return watchlists.end_of_deployment(locked.watchlist, min(now, locked.end))  # a live one always has a list


@transaction.atomic
def complete(deployment: Deployment, *, now=None) -> Deployment:
    """End a live (or suspended) deployment at its end, and set the watchlist's purge."""
    now = records.moment(now)
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    watchlist = _complete(locked, now)
    audit.record("deployment.complete", locked, None, data={"purge_due_at": watchlist.purge_due_at})
    return locked


@transaction.atomic
def end_early(actor, deployment: Deployment, *, reason: str, now=None) -> Deployment:
    """End a live (or suspended) deployment before its planned end, with the reason: matching stops now, and its
    watchlist's purge runs from now, not from the planned end."""
    now = records.moment(now)
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    policy.require(actor, "deployments.end_deployment", locked)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the deployment ends early."})
    if locked.end <= now:
        raise Conflict(f"{locked.reference}'s period has already ended; the schedule completes it.")
    previous = locked.state
    watchlist = _complete(locked, now)
    locked.status_reason = reason.strip()
    locked.save(update_fields=["status_reason"])
    audit.record(
        "deployment.end_early",
        locked,
        actor,
        data={"from_state": previous, "planned_end": locked.end, "purge_due_at": watchlist.purge_due_at},
        reason=reason,
    )
    return locked


@transaction.atomic
def suspend(actor, deployment: Deployment, *, reason: str) -> Deployment:
    """Stop matching at a live deployment for now, with the reason."""
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    policy.require(actor, "deployments.command_deployment", locked)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the deployment is suspended."})
    if locked.state != DeploymentState.LIVE:
        raise Conflict(f"{locked.reference} is {locked.get_state_display().lower()}, not live.")
    locked.state, locked.status_reason = DeploymentState.SUSPENDED, reason.strip()
    locked.save()
    audit.record("deployment.suspend", locked, actor, reason=reason)
    return locked


@transaction.atomic
def resume(actor, deployment: Deployment, *, now=None) -> Deployment:
    """Resume a suspended deployment, if the gate still passes."""
    now = records.moment(now)
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    policy.require(actor, "deployments.command_deployment", locked)
    if locked.state != DeploymentState.SUSPENDED:
        raise Conflict(f"{locked.reference} is {locked.get_state_display().lower()}, not suspended.")
    conditions = gate(locked, now)
    if not gate_passes(conditions):
        raise ValidationError({"gate": [c.detail for c in conditions if not c.ok]})
    locked.state, locked.status_reason = DeploymentState.LIVE, ""
    locked.save()
    audit.record("deployment.resume", locked, actor, data={"gate": _report(conditions)})
    return locked


@transaction.atomic
def cancel(actor, deployment: Deployment, *, reason: str, now=None) -> Deployment:
    """Cancel a deployment that has not completed, with the reason; its list is ended with it."""
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if actor is not None:
        policy.require(actor, "deployments.command_deployment", locked)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the deployment is cancelled."})
    if locked.state in (DeploymentState.COMPLETED, DeploymentState.CANCELLED):
        raise Conflict(f"{locked.reference} is already {locked.get_state_display().lower()}.")
    previous = locked.state
    locked.state, locked.status_reason = DeploymentState.CANCELLED, reason.strip()
    locked.save()
    audit.record("deployment.cancel", locked, actor, data={"from_state": previous}, reason=reason)
    return locked


@transaction.atomic
def emergency_stop(actor, reason: str, deployment: Deployment | None = None, *, among=None, cause=None):
    """Stop one deployment, or every authorised, live or suspended deployment of the force (or of `among`, a queryset,
    when a withdrawn approval names the ones that use it), in one transaction, with the reason. Each moves to stopped:
    capture admits no frame of it from this commit (admission reads the state with every frame), it cannot resume or
    go live, and only a new authorisation runs it again. Each has its event, naming everything stopped with it and
    `cause` (what withdrew it). Returns the deployments stopped; none to stop force-wide is no error (nothing ran)."""
    policy.require(actor, "deployments.emergency_stop")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why capture stops: the reason is recorded on every deployment stopped."})
    if deployment is not None:
        stopping = Deployment.objects.filter(pk=deployment.pk)
    else:
        stopping = (Deployment.objects.all() if among is None else among).filter(state__in=STOPPABLE_STATES)
    locked = list(stopping.select_for_update(of=("self",)).order_by("pk"))
    if deployment is not None and locked[0].state not in STOPPABLE_STATES:
        raise Conflict(f"{locked[0].reference} is {locked[0].get_state_display().lower()}: nothing of it runs to stop.")
    together = [each.reference for each in locked]
    for each in locked:
        previous = each.state
        each.state, each.status_reason = DeploymentState.STOPPED, reason.strip()
        each.save(update_fields=["state", "status_reason"])
        data = {
            "from_state": previous,
            "force_wide": deployment is None and among is None,
            "stopped_together": together,
        }
        audit.record("deployment.emergency_stop", each, actor, data={**data, **(cause or {})}, reason=reason)
    return locked


@transaction.atomic
def publish_figures(deployment: Deployment, **counts: int) -> PublishedFigures:
    """The deployment's published figures, as the system counted them from its records (the matching app recounts
    them from the capture ledger and the judged alerts). Nobody types a figure: there is no actor and no form."""
    unknown = set(counts) - set(OUTCOME_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown outcome fields: {', '.join(sorted(unknown))}.")
    if any(not isinstance(value, int) or value < 0 for value in counts.values()):
        raise ValidationError("Outcome figures are whole numbers, zero or more.")
    outcome, _ = PublishedFigures.objects.select_for_update().get_or_create(deployment=deployment)
    for field, value in counts.items():
        setattr(outcome, field, value)
    if outcome.true_alerts + outcome.false_alerts > outcome.alerts:
        raise ValidationError("True and false alerts cannot add up to more than the alerts.")
    outcome.save()
    audit.record("deployment.outcome", deployment, None, data={f: getattr(outcome, f) for f in OUTCOME_FIELDS})
    return outcome


# Every frame runs this, prepared, on the driver's cursor (benchmarks/frame_cost.py). One upsert: the deployment's
# first frames may race to make the row, and ON CONFLICT makes the loser add to the winner's row instead of failing
# (a unique violation would abort the frame's whole pipeline). RETURNING, so the answer comes by a fetch, which also
# works inside the caller's pipeline; `xmax = 0` only on a row this statement inserted.
_ADD_TO_FIGURES = """
INSERT INTO deployments_publishedfigures (deployment_id, faces_processed, alerts, true_alerts, false_alerts,
                                          engagements, arrests, other_outcomes, updated_at)
VALUES (%s, %s, %s, 0, 0, 0, 0, 0, %s)
ON CONFLICT (deployment_id) DO UPDATE SET
    faces_processed = deployments_publishedfigures.faces_processed + EXCLUDED.faces_processed,
    alerts = deployments_publishedfigures.alerts + EXCLUDED.alerts,
    updated_at = EXCLUDED.updated_at
RETURNING xmax = 0, {fields}
""".format(fields=", ".join(OUTCOME_FIELDS))


def add_capture_to_figures(deployment: Deployment, *, faces: int, alerts: int) -> None:
    """Add a frame's faces and alerts to the deployment's figures, inside the frame's transaction (the matching app,
    as the system). The statement adds to the committed figures under the row's lock, so frames committing together
    on several request threads or processes never overwrite each other's counts; the frame's own `capture.processed`
    event records what it added. The deployment's first frame makes the row, with its own event."""
    with prepared.cursor() as cursor:
        prepared.execute(cursor, _ADD_TO_FIGURES, [deployment.pk, faces, alerts, timezone.now()])
        made, *figures = cursor.fetchone()
    if made:
        audit.record("deployment.outcome", deployment, None, data=dict(zip(OUTCOME_FIELDS, figures, strict=True)))


@dataclass(frozen=True)
class ScheduleAction:
    """One thing the schedule did, would do, or could not do."""

    reference: str
    action: str
    detail: str


_SCHEDULE_LOCK = 7_245_003  # one schedule run at a time (beat and the command may overlap)


def run_schedule(now=None, dry_run: bool = False) -> list[ScheduleAction]:
    """Go live at the start when the gate passes; complete at the end; cancel what never went live by its end."""
    now = records.moment(now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_SCHEDULE_LOCK])
        if not cursor.fetchone()[0]:
            return []  # another run is moving the deployments now
    try:
        return _run_schedule(now, dry_run)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_SCHEDULE_LOCK])


def _run_schedule(now, dry_run: bool) -> list[ScheduleAction]:
    actions = []
    due = Deployment.objects.filter(state=DeploymentState.AUTHORISED, start__lte=now, end__gt=now)
    for deployment in due.select_related("watchlist"):
        conditions = gate(deployment, now)
        if dry_run:
            verb = "go_live" if gate_passes(conditions) else "refuse"
            actions.append(ScheduleAction(deployment.reference, verb, _failing(conditions)))
            continue
        try:
            went, conditions = try_go_live(deployment, now=now)
        except Conflict:
            continue  # somebody moved it meanwhile; the next run sees its new state
        actions.append(ScheduleAction(deployment.reference, "go_live" if went else "refuse", _failing(conditions)))
    # A stopped deployment that had run ends as one that ran (its list's purge is set); one that never ran, as missed.
    ran = Q(state__in=[DeploymentState.LIVE, DeploymentState.SUSPENDED])
    ran |= Q(state__in=[DeploymentState.STOPPED, DeploymentState.AUTHORISED], went_live_at__isnull=False)
    ending = Deployment.objects.filter(ran, end__lte=now)
    for deployment in ending:
        actions.append(ScheduleAction(deployment.reference, "complete", f"ended {deployment.end}"))
        if not dry_run:
            complete(deployment, now=now)
    never_ran = Q(state=DeploymentState.PLANNED)
    never_ran |= Q(state__in=[DeploymentState.STOPPED, DeploymentState.AUTHORISED], went_live_at__isnull=True)
    missed = Deployment.objects.filter(never_ran, end__lte=now)
    for deployment in missed:
        actions.append(ScheduleAction(deployment.reference, "cancel", "its period ended before it went live"))
        if not dry_run:
            cancel(None, deployment, reason="Its period ended before it went live.", now=now)
    return actions


def _failing(conditions: list[Condition]) -> str:
    failing = [f"{c.name}: {c.detail}" for c in conditions if not c.ok]
    return "; ".join(failing) if failing else "every gate condition holds"
