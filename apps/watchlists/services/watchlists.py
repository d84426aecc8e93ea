"""Watchlists: compiling, the approval workflow, expiry and purge.

The approval workflow is a set of guarded transitions (draft → submitted → approved or returned → expired →
purged) written by hand: each locks the watchlist row, checks the state it starts from, and raises Conflict when
somebody else moved it first, so two commanders acting at once get one approval and one 409. An approval binds to
the hash of the exact version reviewed; any edit afterwards starts a new version that needs approval again.
"""

import datetime
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit import services as audit
from apps.audit.services import canonical_json
from govern import policy, records
from govern.errors import Conflict, PreconditionFailed

from .. import signals
from ..choices import (
    CATEGORY_DETAIL,
    EDITABLE_STATES,
    ApprovalRoute,
    Category,
    ReviewState,
    WatchlistState,
)
from ..models import CustodyImage, Entry, Manifest, Review, Subject, SubjectRestriction, VersionEditor, Watchlist
from . import restriction

ENTRY_FIELDS = ("image", "category", "offence", "order_details", "justification", "under_18_rationale")


# --- Watchlists: compiling -----------------------------------------------------------------------------------------


def _compile_window(
    start: datetime.datetime, end: datetime.datetime, now: datetime.datetime, created: bool = False
) -> None:
    """A list is compiled shortly before its deployment, for one deployment, not kept on the shelf (DOMAIN)."""
    if not created:
        if start < now - datetime.timedelta(hours=1):
            raise ValidationError({"intended_start": "A watchlist cannot start in the past."})
        if end - start > datetime.timedelta(hours=settings.WATCHLIST_MAX_HOURS):
            raise ValidationError(
                {"intended_end": f"A watchlist is for one deployment: at most {settings.WATCHLIST_MAX_HOURS} hours."}
            )
    opens = start - datetime.timedelta(hours=settings.WATCHLIST_COMPILE_WINDOW_HOURS)
    if now < opens:
        raise ValidationError(
            f"A watchlist may be compiled only within {settings.WATCHLIST_COMPILE_WINDOW_HOURS} hours of its start: "
            f"this one opens for compiling at {timezone.localtime(opens):%Y-%m-%d %H:%M}."
        )
    if now >= end:
        raise ValidationError("The watchlist's period has ended; it can no longer be compiled.")


@transaction.atomic
def create_watchlist(
    actor,
    *,
    purpose: str,
    intended_start: datetime.datetime,
    intended_end: datetime.datetime,
    reference: str = "",
    now: datetime.datetime | None = None,
) -> Watchlist:
    """Start a draft watchlist for one deployment's purpose."""
    policy.require(actor, "watchlists.add_watchlist")
    now = records.moment(now)
    errors: dict = {}
    if not purpose or not purpose.strip():
        errors["purpose"] = ["State the purpose of the deployment this list is for."]
    if intended_end <= intended_start:
        errors["intended_end"] = ["The end must be after the start."]
    else:
        records.gather(errors, lambda: _compile_window(intended_start, intended_end, now))
    if errors:
        raise ValidationError(errors)
    watchlist = Watchlist(
        reference=reference or records.next_reference(Watchlist, "WL", now),
        purpose=purpose.strip(),
        intended_start=intended_start,
        intended_end=intended_end,
        compiled_by=actor,
    )
    records.validate(watchlist, exclude=["compiled_by"])
    try:
        with transaction.atomic():
            watchlist.save()
    except IntegrityError as exc:
        raise Conflict(f"The reference {watchlist.reference} is taken; try again.") from exc
    VersionEditor.objects.create(watchlist=watchlist, version=1, user=actor)
    audit.record(
        "watchlist.create",
        watchlist,
        actor,
        data={
            "reference": watchlist.reference,
            "purpose": watchlist.purpose,
            "intended_start": intended_start,
            "intended_end": intended_end,
            "version": 1,
        },
    )
    return watchlist


def _start_new_version(actor, locked: Watchlist, now: datetime.datetime, why: str) -> None:
    """Withdraw any open review and any approval; the list becomes a new draft version."""
    previous = (locked.version, locked.state, locked.approved_hash)
    Review.objects.filter(watchlist=locked, state=ReviewState.OPEN).update(
        state=ReviewState.WITHDRAWN, decided_at=now, comment="Changed before a decision."
    )
    locked.version += 1
    locked.state = WatchlistState.DRAFT
    locked.approved_version, locked.approved_hash, locked.approved_by, locked.approved_at = None, "", None, None
    locked.approval_route, locked.ratify_by, locked.ratified_by, locked.ratified_at = "", None, None, None
    locked.save()
    audit.record(
        "watchlist.new_version",
        locked,
        actor,
        data={
            "from_version": previous[0],
            "from_state": previous[1],
            "from_approved_hash": previous[2],
            "version": locked.version,
        },
        reason=why,
    )


def _bump_revision(locked: Watchlist) -> None:
    """Every change moves the revision the ETag names, so two editors never overwrite each other unseen."""
    Watchlist.objects.filter(pk=locked.pk).update(revision=models.F("revision") + 1)
    locked.refresh_from_db(fields=["revision"])


def _check_revision(locked: Watchlist, expected_revision: int | None) -> None:
    if expected_revision is not None and locked.revision != expected_revision:
        raise PreconditionFailed(
            f"{locked.reference} changed since you loaded it (revision {locked.revision}, not {expected_revision}): "
            "reload it and try again."
        )


def _begin_edit(actor, watchlist: Watchlist, expected_revision: int | None, now: datetime.datetime) -> Watchlist:
    """Lock the list for an edit and record it (see _open_for_edit and _record_edit)."""
    locked = _open_for_edit(actor, watchlist, expected_revision, now)
    _record_edit(actor, locked, now)
    return locked


def _open_for_edit(actor, watchlist: Watchlist, expected_revision: int | None, now: datetime.datetime) -> Watchlist:
    """Lock the list and check that this person may edit it now, at the revision they saw; nothing is written yet,
    so an edit the entry's rules then refuse leaves no trace, not even a rolled-back one."""
    policy.require(actor, "watchlists.change_watchlist", watchlist)
    locked = Watchlist.objects.select_for_update().get(pk=watchlist.pk)
    _check_revision(locked, expected_revision)
    if locked.state not in EDITABLE_STATES:
        raise Conflict(f"{locked.reference} is {locked.get_state_display().lower()} and can no longer be edited.")
    _compile_window(locked.intended_start, locked.intended_end, now, created=True)
    return locked


def _record_edit(actor, locked: Watchlist, now: datetime.datetime) -> None:
    """An edit after a submission or approval starts a new version in draft; the editor and the revision are kept."""
    if locked.state != WatchlistState.DRAFT:
        _start_new_version(actor, locked, now, "edited after submission: the new version needs approval again")
    VersionEditor.objects.get_or_create(watchlist=locked, version=locked.version, user=actor)
    _bump_revision(locked)


def _check_entry(watchlist: Watchlist, entry: Entry) -> None:
    """The rules an entry must meet, with a message naming what is missing."""
    errors = {}
    if entry.category not in Category.values:
        errors["category"] = f"Choose one of the categories: {', '.join(Category.labels)}. There is no catch-all."
    else:
        detail = CATEGORY_DETAIL.get(Category(entry.category))
        if detail is not None and not getattr(entry, detail[0]).strip():
            errors[detail[0]] = f"Record {detail[1]} for this category."
    if len(entry.justification.strip()) < settings.WATCHLIST_MIN_JUSTIFICATION:
        errors["justification"] = (
            f"Write why this person is on the list (at least {settings.WATCHLIST_MIN_JUSTIFICATION} characters)."
        )
    if entry.image.subject_id != entry.subject_id:
        errors["image"] = "The image belongs to another subject."
    if restriction.standing(entry.subject) is not None:
        errors["subject"] = (
            f"{entry.subject} is under a restriction of processing (DPA 2018 s.47): they cannot be put on a list "
            "while it stands."
        )
    under_18 = entry.subject.age_on(timezone.localtime(watchlist.intended_start).date()) < 18
    if under_18 and len(entry.under_18_rationale.strip()) < settings.WATCHLIST_MIN_JUSTIFICATION:
        errors["under_18_rationale"] = (
            "This person is under 18: record the risk-of-harm rationale for listing them "
            f"(at least {settings.WATCHLIST_MIN_JUSTIFICATION} characters)."
        )
    if errors:
        raise ValidationError(errors)


def _lock_entry(entry: Entry) -> Entry:
    try:
        return Entry.objects.select_for_update().get(pk=entry.pk)
    except Entry.DoesNotExist:
        raise Conflict("That entry is no longer on the list: somebody removed it; reload the list.") from None


def _entry_audit(entry: Entry) -> dict:
    """What the log keeps of an entry: ids, category, image hash; the written texts only as a commitment."""
    texts = {key: getattr(entry, key) for key in ("offence", "order_details", "justification", "under_18_rationale")}
    return {
        "subject": entry.subject_id,
        "image": entry.image_id,
        "image_sha256": entry.image.sha256,
        "category": entry.category,
        "texts": audit.commitment(texts),
    }


def _entry_data(entry: Entry) -> dict:
    return {
        "subject": entry.subject_id,
        "image": entry.image_id,
        "image_sha256": entry.image.sha256,
        "category": entry.category,
        "offence": entry.offence,
        "order_details": entry.order_details,
        "justification": entry.justification,
        "under_18_rationale": entry.under_18_rationale,
    }


@transaction.atomic
def add_entry(
    actor,
    watchlist: Watchlist,
    *,
    subject: Subject,
    image: CustodyImage,
    category: str,
    justification: str,
    offence: str = "",
    order_details: str = "",
    under_18_rationale: str = "",
    expected_revision: int | None = None,
    now: datetime.datetime | None = None,
) -> Entry:
    """Put a person on the list, with the image to match, the category and the justification."""
    now = records.moment(now)
    locked = _open_for_edit(actor, watchlist, expected_revision, now)
    entry = Entry(
        watchlist=locked,
        subject=subject,
        image=image,
        category=category,
        justification=justification.strip(),
        offence=offence.strip(),
        order_details=order_details.strip(),
        under_18_rationale=under_18_rationale.strip(),
        added_by=actor,
    )
    _check_entry(locked, entry)
    if Entry.objects.filter(watchlist=locked, subject=subject).exists():
        raise ValidationError({"subject": f"{subject} is already on {locked.reference}."})
    _record_edit(actor, locked, now)
    entry.save()
    data = {"version": locked.version, "content_hash": content_hash(snapshot(locked)), "entry": entry.pk}
    audit.record("watchlist.entry_add", locked, actor, data={**data, **_entry_audit(entry)})
    return entry


@transaction.atomic
def update_entry(
    actor, entry: Entry, *, expected_revision: int | None = None, now: datetime.datetime | None = None, **changes
) -> Entry:
    """Change an entry's image, category, detail or justification."""
    unknown = set(changes) - set(ENTRY_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown entry fields: {', '.join(sorted(unknown))}.")
    if not changes:
        raise ValidationError("Nothing to change.")
    now = records.moment(now)
    locked = _open_for_edit(actor, entry.watchlist, expected_revision, now)
    entry = _lock_entry(entry)
    before = _entry_data(entry)
    for field, value in changes.items():
        setattr(entry, field, value.strip() if isinstance(value, str) else value)
    _check_entry(locked, entry)
    _record_edit(actor, locked, now)
    entry.save()
    after = _entry_data(entry)
    changed = sorted(key for key in after if before[key] != after[key])
    data = {"version": locked.version, "content_hash": content_hash(snapshot(locked)), "entry": entry.pk}
    audit.record("watchlist.entry_update", locked, actor, data={**data, "changed": changed, **_entry_audit(entry)})
    return entry


@transaction.atomic
def remove_entry(
    actor, entry: Entry, *, reason: str, expected_revision: int | None = None, now: datetime.datetime | None = None
) -> None:
    """Take a person off the list, saying why."""
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Say why this person is taken off the list."})
    now = records.moment(now)
    locked = _begin_edit(actor, entry.watchlist, expected_revision, now)
    entry = _lock_entry(entry)
    data = {"version": locked.version, "entry": entry.pk, **_entry_audit(entry)}
    entry.delete()
    data["content_hash"] = content_hash(snapshot(locked))
    audit.record("watchlist.entry_remove", locked, actor, data=data, reason=reason)


# --- Watchlists: the approval workflow -----------------------------------------------------------------------------


def snapshot(watchlist: Watchlist) -> dict:
    """The version as a reviewer sees it, without biometrics: what the approval's hash covers."""
    entries = watchlist.entries.select_related("subject", "image").order_by("subject_id")
    return {
        "reference": watchlist.reference,
        "version": watchlist.version,
        "purpose": watchlist.purpose,
        "intended_start": audit.format_time(watchlist.intended_start),
        "intended_end": audit.format_time(watchlist.intended_end),
        "entries": [
            {
                "subject": entry.subject_id,
                "name": str(entry.subject),
                "pnc_id": entry.subject.pnc_id,
                "date_of_birth": entry.subject.date_of_birth.isoformat(),
                "image": entry.image_id,
                "image_sha256": entry.image.sha256,
                "image_captured_on": entry.image.captured_on.isoformat(),
                "category": entry.category,
                "offence": entry.offence,
                "order_details": entry.order_details,
                "justification": entry.justification,
                "under_18_rationale": entry.under_18_rationale,
            }
            for entry in entries
        ],
    }


def content_hash(version_snapshot: dict) -> str:
    """SHA-256 of the snapshot's canonical JSON."""
    return hashlib.sha256(canonical_json(version_snapshot).encode()).hexdigest()


def _lock(watchlist: Watchlist) -> Watchlist:
    return Watchlist.objects.select_for_update().get(pk=watchlist.pk)


def _require_state(watchlist: Watchlist, *states: str) -> None:
    if watchlist.state not in states:
        wanted = " or ".join(WatchlistState(state).label.lower() for state in states)
        raise Conflict(
            f"{watchlist.reference} is {watchlist.get_state_display().lower()}, not {wanted}: "
            "somebody acted on it first; reload it."
        )


def open_review(watchlist: Watchlist) -> Review | None:
    """The review awaiting a decision, if any."""
    return Review.objects.filter(watchlist=watchlist, state=ReviewState.OPEN).first()


@transaction.atomic
def submit(actor, watchlist: Watchlist, *, expected_revision: int | None = None, now=None) -> Review:
    """Send the current version to an authorising officer, frozen by its hash; every entry is checked again."""
    policy.require(actor, "watchlists.change_watchlist", watchlist)
    now = records.moment(now)
    locked = _lock(watchlist)
    _check_revision(locked, expected_revision)
    _require_state(locked, WatchlistState.DRAFT, WatchlistState.RETURNED)
    if locked.state == WatchlistState.RETURNED:
        locked = _begin_edit(actor, locked, None, now)  # a returned version is changed before resubmission
    _compile_window(locked.intended_start, locked.intended_end, now, created=True)
    entries = list(locked.entries.select_related("subject", "image"))
    if not entries:
        raise ValidationError("An empty watchlist cannot be submitted.")
    problems = []
    for entry in entries:  # the subjects' details may have changed since the entry was added
        try:
            _check_entry(locked, entry)
        except ValidationError as exc:
            problems.append(f"{entry.subject}: {' '.join(exc.messages)}")
    if problems:
        raise ValidationError({"entries": problems})
    VersionEditor.objects.get_or_create(watchlist=locked, version=locked.version, user=actor)
    frozen = snapshot(locked)
    review = Review.objects.create(
        watchlist=locked,
        version=locked.version,
        content_hash=content_hash(frozen),
        snapshot=frozen,
        submitted_by=actor,
        submitted_at=now,
    )
    locked.state = WatchlistState.SUBMITTED
    locked.save(update_fields=["state", "updated_at"])
    _bump_revision(locked)
    audit.record(
        "watchlist.submit",
        locked,
        actor,
        data={"version": locked.version, "content_hash": review.content_hash, "entries": len(frozen["entries"])},
    )
    return review


# Checks the apps above this one add to approving a list (oversight adds the threshold's false alerts forecast for
# the list's size): (watchlist, list_size) -> why it is refused, or None. Authorising a deployment asks them again.
APPROVAL_CHECKS: list = []


def add_approval_check(check):
    """Refuse approving a list (and authorising a deployment of it) where `check(watchlist, list_size)` says why."""
    if check not in APPROVAL_CHECKS:
        APPROVAL_CHECKS.append(check)
    return check


def approval_refusals(watchlist: Watchlist) -> list[str]:
    """Why the registered checks refuse the list at its size now (empty when none does)."""
    size = watchlist.entries.count()
    return [refusal for check in APPROVAL_CHECKS if (refusal := check(watchlist, size))]


@transaction.atomic
def approve(
    actor,
    watchlist: Watchlist,
    *,
    content_hash: str,
    route: str = ApprovalRoute.STANDARD,
    reason: str = "",
    comment: str = "",
    now=None,
) -> Watchlist:
    """Approve exactly the version reviewed (named by its hash); urgent approval needs a reason and ratification."""
    now = records.moment(now)
    locked = _lock(watchlist)
    if route == ApprovalRoute.URGENT:
        policy.require(actor, "watchlists.approve_watchlist_urgently", locked)
        if not reason.strip():
            raise ValidationError({"reason": "An urgent approval needs a written reason."})
    elif route == ApprovalRoute.STANDARD:
        policy.require(actor, "watchlists.approve_watchlist", locked)
    else:
        raise ValidationError({"route": f"Choose one of: {', '.join(ApprovalRoute.values)}."})
    review = open_review(locked)
    if review is None or review.content_hash != content_hash:
        stale = changed_since_review(locked, content_hash)
        if stale is not None:
            raise Conflict(stale)
    _require_state(locked, WatchlistState.SUBMITTED)
    if review is None or review.content_hash != content_hash:
        raise Conflict(
            f"{locked.reference} changed since you reviewed it (hash {content_hash[:12]}…): review the current version."
        )
    if now >= locked.intended_end:
        raise Conflict(f"{locked.reference} has ended; it can no longer be approved.")
    standing = SubjectRestriction.objects.filter(lifted_at__isnull=True).values("subject_id")
    restricted = locked.entries.filter(subject_id__in=standing).select_related("subject")
    if restricted:
        names = "; ".join(str(entry.subject) for entry in restricted)
        raise Conflict(
            f"{locked.reference} holds people under a restriction of processing since it was submitted ({names}): "
            "return it for them to be taken off."
        )
    refusals = approval_refusals(locked)
    if refusals:
        raise ValidationError({"threshold": refusals})
    if route == ApprovalRoute.URGENT and actor.outranks_or_equals(settings.AUTHORISING_MIN_RANK):
        route = ApprovalRoute.STANDARD  # an officer of the full rank needs no ratification
    lapsed = Review.objects.filter(watchlist=locked, version=locked.version, state=ReviewState.LAPSED).exists()
    if route == ApprovalRoute.URGENT and lapsed:
        raise PermissionDenied(
            "An urgent approval of this version already lapsed unratified: it now needs an officer of the full rank."
        )
    review.state, review.decided_by, review.decided_at = ReviewState.APPROVED, actor, now
    review.route, review.comment = route, (reason if route == ApprovalRoute.URGENT else comment).strip()
    review.save()
    locked.state = WatchlistState.APPROVED
    locked.approved_version, locked.approved_hash = locked.version, review.content_hash
    locked.approved_by, locked.approved_at, locked.approval_route = actor, now, route
    if route == ApprovalRoute.URGENT:
        locked.ratify_by = now + datetime.timedelta(hours=settings.URGENT_RATIFICATION_HOURS)
    locked.save()
    _bump_revision(locked)
    signals.watchlist_approved.send(Watchlist, watchlist_id=locked.pk, approved_hash=locked.approved_hash)
    audit.record(
        "watchlist.approve",
        locked,
        actor,
        data={
            "version": locked.version,
            "content_hash": review.content_hash,
            "route": route,
            "ratify_by": locked.ratify_by,
            "expires_at": locked.intended_end,
        },
        reason=review.comment,
    )
    return locked


@transaction.atomic
def return_for_changes(actor, watchlist: Watchlist, *, comment: str, now=None) -> Watchlist:
    """Send the version back to the compiler with the changes wanted."""
    now = records.moment(now)
    locked = _lock(watchlist)
    policy.require(actor, "watchlists.return_watchlist", locked)
    if not comment or not comment.strip():
        raise ValidationError({"comment": "Say what must change."})
    _require_state(locked, WatchlistState.SUBMITTED)
    review = open_review(locked)
    review.state, review.decided_by, review.decided_at, review.comment = (
        ReviewState.RETURNED,
        actor,
        now,
        comment.strip(),
    )
    review.save()
    locked.state = WatchlistState.RETURNED
    locked.save(update_fields=["state", "updated_at"])
    audit.record(
        "watchlist.return",
        locked,
        actor,
        data={"version": locked.version, "content_hash": review.content_hash},
        reason=comment,
    )
    return locked


@transaction.atomic
def ratify(actor, watchlist: Watchlist, *, comment: str = "", now=None) -> Watchlist:
    """Confirm an urgent approval before it lapses."""
    now = records.moment(now)
    locked = _lock(watchlist)
    policy.require(actor, "watchlists.ratify_watchlist", locked)
    _require_state(locked, WatchlistState.APPROVED)
    if locked.approval_route != ApprovalRoute.URGENT or locked.ratified_at is not None:
        raise Conflict(f"{locked.reference} has no urgent approval awaiting ratification.")
    if now >= locked.ratify_by:
        raise Conflict(f"The urgent approval of {locked.reference} lapsed at {locked.ratify_by:%Y-%m-%d %H:%M}.")
    locked.ratified_by, locked.ratified_at = actor, now
    locked.save()
    audit.record(
        "watchlist.ratify",
        locked,
        actor,
        data={"version": locked.version, "content_hash": locked.approved_hash},
        reason=comment,
    )
    return locked


def in_force(watchlist: Watchlist, now: datetime.datetime | None = None) -> bool:
    """Whether matching may use this list now: approved, unexpired, and any urgent approval ratified in time."""
    now = records.moment(now)
    if watchlist.state != WatchlistState.APPROVED or now >= watchlist.intended_end:
        return False
    if watchlist.approval_route == ApprovalRoute.URGENT and watchlist.ratified_at is None:
        return now < watchlist.ratify_by
    return True


def largest_approved_size() -> int:
    """The most entries on any list approved now (0 when none is): the size a threshold must be safe for."""
    sizes = Watchlist.objects.filter(state=WatchlistState.APPROVED).annotate(size=models.Count("entries"))
    return sizes.aggregate(largest=models.Max("size"))["largest"] or 0


@dataclass(frozen=True)
class SweepAction:
    """One thing the sweep did (or, in a dry run, would do)."""

    reference: str
    action: str
    detail: str


def _lapse(watchlist: Watchlist, now) -> bool:
    locked = _lock(watchlist)
    if not (
        locked.state == WatchlistState.APPROVED
        and locked.approval_route == ApprovalRoute.URGENT
        and locked.ratified_at is None
        and now >= locked.ratify_by
    ):
        return False
    approved = Review.objects.get(watchlist=locked, state=ReviewState.APPROVED, version=locked.version)
    approved.state = ReviewState.LAPSED
    approved.save(update_fields=["state"])
    # The same version, as submitted, waits again for an officer of the full rank.
    Review.objects.create(
        watchlist=locked,
        version=locked.version,
        content_hash=approved.content_hash,
        snapshot=approved.snapshot,
        submitted_by=approved.submitted_by,
        submitted_at=now,
        comment="Urgent approval lapsed: awaiting approval by an officer of the full rank.",
    )
    lapsed_by = locked.approved_by_id
    locked.state = WatchlistState.SUBMITTED
    locked.approved_version, locked.approved_hash, locked.approved_by, locked.approved_at = None, "", None, None
    locked.approval_route, locked.ratify_by = "", None
    locked.save()
    _bump_revision(locked)
    audit.record(
        "watchlist.approval_lapsed",
        locked,
        None,
        data={"version": locked.version, "content_hash": approved.content_hash, "urgent_approver": lapsed_by},
    )
    return True


def _expire(watchlist: Watchlist, now) -> bool:
    locked = _lock(watchlist)
    if locked.state not in EDITABLE_STATES or now < locked.intended_end:
        return False
    _expire_now(locked, now, why="its period ended")
    return True


def _expire_now(locked: Watchlist, now, why: str) -> None:
    Review.objects.filter(watchlist=locked, state=ReviewState.OPEN).update(
        state=ReviewState.WITHDRAWN, decided_at=now, comment=f"The watchlist expired: {why}."
    )
    previous = locked.state
    locked.state = WatchlistState.EXPIRED
    locked.save(update_fields=["state", "updated_at"])
    audit.record("watchlist.expire", locked, None, data={"version": locked.version, "from_state": previous}, reason=why)


@transaction.atomic
def return_after_quality_gate(watchlist: Watchlist, approved_hash: str, problems: list[str]) -> bool:
    """The system sends an approved list back when its images fail the face quality gate at enrolment."""
    locked = _lock(watchlist)
    if locked.state != WatchlistState.APPROVED or locked.approved_hash != approved_hash:
        return False
    review = Review.objects.get(watchlist=locked, state=ReviewState.APPROVED, version=locked.version)
    comment = "Images failed the face quality gate: " + " ".join(problems)
    _start_new_version(None, locked, timezone.now(), comment)
    locked.state = WatchlistState.RETURNED
    locked.save(update_fields=["state", "updated_at"])
    Review.objects.filter(pk=review.pk).update(comment=(review.comment + " " + comment).strip())
    _bump_revision(locked)
    return True


@transaction.atomic
def end_of_deployment(watchlist: Watchlist, ended_at: datetime.datetime) -> Watchlist:
    """The deployment using this list has ended: expire the list now and set its purge for after the window."""
    locked = _lock(watchlist)
    if locked.state in EDITABLE_STATES:
        _expire_now(locked, ended_at, why="its deployment ended")
    if locked.state == WatchlistState.EXPIRED and locked.purge_due_at is None:
        locked.purge_due_at = ended_at + datetime.timedelta(hours=settings.WATCHLIST_PURGE_AFTER_HOURS)
        locked.save(update_fields=["purge_due_at", "updated_at"])
    return locked


def purge(watchlist: Watchlist, now=None) -> Manifest | None:
    """Delete an expired list's entries, keeping a manifest of who was listed and who approved (no biometrics).

    The reviews' snapshots shrink to the manifest's fields and the entries' history rows go too, so the manifest
    is what remains. Returns None when the list is no longer expired (another sweep purged it first).
    """
    now = records.moment(now)
    with transaction.atomic():
        locked = _lock(watchlist)
        if locked.state != WatchlistState.EXPIRED:
            return None
        approvals = Review.objects.filter(watchlist=locked, state__in=[ReviewState.APPROVED, ReviewState.LAPSED])
        manifest = Manifest.objects.create(
            watchlist=locked,
            data={
                "reference": locked.reference,
                "purpose": locked.purpose,
                "intended_start": audit.format_time(locked.intended_start),
                "intended_end": audit.format_time(locked.intended_end),
                "final_version": locked.version,
                "approvals": [
                    {
                        "version": r.version,
                        "content_hash": r.content_hash,
                        "approved_by": r.decided_by.get_username(),
                        "approved_at": audit.format_time(r.decided_at),
                        "route": r.route,
                        "state": r.state,
                    }
                    for r in approvals.select_related("decided_by")
                ],
                "listed": [
                    {
                        "subject": e.subject_id,
                        "name": str(e.subject),
                        "pnc_id": e.subject.pnc_id,
                        "category": e.category,
                        "offence": e.offence,
                        "order_details": e.order_details,
                        "added_by": e.added_by.get_username(),
                    }
                    for e in locked.entries.select_related("subject", "added_by").order_by("subject_id")
                ],
            },
        )
        signals.watchlist_purging.send(Watchlist, watchlist_id=locked.pk)
        removed = locked.entries.count()
        entry_ids = list(locked.entries.values_list("pk", flat=True))
        locked.entries.all().delete()
        Entry.history.filter(id__in=entry_ids).delete()
        for review in Review.objects.filter(watchlist=locked):
            review.snapshot = {
                "reference": review.snapshot.get("reference"),
                "version": review.snapshot.get("version"),
                "purged": True,
                "entries": [{"subject": e["subject"], "category": e["category"]} for e in review.snapshot["entries"]],
            }
            review.save(update_fields=["snapshot"])
        locked.state = WatchlistState.PURGED
        locked.save(update_fields=["state", "updated_at"])
        audit.record("watchlist.purge", locked, None, data={"entries_removed": removed, "manifest": manifest.pk})
    return manifest


_SWEEP_LOCK = 7_245_002  # one sweep at a time: a beat tick during a long run, or the command beside beat


def sweep(now=None, dry_run: bool = False) -> list[SweepAction]:
    """Lapse unratified urgent approvals, expire ended lists, purge expired ones when due; one sweep at a time."""
    now = records.moment(now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_SWEEP_LOCK])
        if not cursor.fetchone()[0]:
            return []  # another sweep is running; it does this work
    try:
        return _sweep(now, dry_run)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_SWEEP_LOCK])


def _sweep(now, dry_run: bool) -> list[SweepAction]:
    actions = []
    lapsing = Watchlist.objects.filter(
        state=WatchlistState.APPROVED,
        approval_route=ApprovalRoute.URGENT,
        ratified_at__isnull=True,
        ratify_by__lte=now,
    )
    for watchlist in lapsing:
        action = SweepAction(watchlist.reference, "lapse", f"unratified since {watchlist.ratify_by}")
        if dry_run:
            actions.append(action)
            continue
        with transaction.atomic():
            if _lapse(watchlist, now):
                actions.append(action)
    for watchlist in Watchlist.objects.filter(state__in=EDITABLE_STATES, intended_end__lte=now):
        action = SweepAction(watchlist.reference, "expire", f"ended {watchlist.intended_end}")
        if dry_run:
            actions.append(action)
            continue
        with transaction.atomic():
            if _expire(watchlist, now):
                actions.append(action)
    purge_before = now - datetime.timedelta(hours=settings.WATCHLIST_PURGE_AFTER_HOURS)
    # Due: the date its deployment set, else the retention window after the list's own end.
    due = Q(purge_due_at__lte=now) | Q(purge_due_at__isnull=True, intended_end__lte=purge_before)
    purgeable = [WatchlistState.EXPIRED]
    if dry_run:  # lists that would expire in this run would also be purged when due
        purgeable = [*EDITABLE_STATES, WatchlistState.EXPIRED]
    for watchlist in Watchlist.objects.filter(due, state__in=purgeable):
        action = SweepAction(watchlist.reference, "purge", f"ended {watchlist.intended_end}")
        if dry_run or purge(watchlist, now) is not None:
            actions.append(action)
    return actions


def last_approved_snapshot(watchlist: Watchlist, before_version: int | None = None) -> dict | None:
    """The most recently approved version's snapshot (before a given version), for showing what changed."""
    reviews = Review.objects.filter(watchlist=watchlist, state__in=[ReviewState.APPROVED, ReviewState.LAPSED])
    if before_version is not None:
        reviews = reviews.filter(version__lt=before_version)
    review = reviews.order_by("-version").first()
    return review.snapshot if review else None


def changed_since_review(watchlist: Watchlist, content_hash: str) -> str | None:
    """What changed since the version with this hash was sent for review, in words without anyone's details (the
    new version may be a draft the reviewer may not read); None when no version had that hash or it is still open."""
    reviewed = Review.objects.filter(watchlist=watchlist, content_hash=content_hash).order_by("-version").first()
    if reviewed is None or reviewed.state == ReviewState.OPEN or reviewed.version == watchlist.version:
        return None  # not a version that moved on: the state's own refusal says what happened
    before = {entry["subject"]: entry for entry in reviewed.snapshot["entries"]}
    after = {entry["subject"]: entry for entry in snapshot(watchlist)["entries"]}
    fields = sorted(
        {key for s in before.keys() & after.keys() for key in after[s] if before[s].get(key) != after[s][key]}
    )
    changed = sum(1 for s in before.keys() & after.keys() if before[s] != after[s])
    what = (
        f"{len(after.keys() - before.keys())} added, {len(before.keys() - after.keys())} removed, {changed} changed"
        + (f" ({', '.join(fields)})" if fields else "")
    )
    return (
        f"{watchlist.reference} changed since you reviewed version {reviewed.version} (hash {content_hash[:12]}…): "
        f"it is now version {watchlist.version}, {watchlist.get_state_display().lower()}, and that review was "
        f"{reviewed.get_state_display().lower()}. People on the list: {what}. Review the current version once it "
        "is submitted."
    )


def changes_since_approval(watchlist: Watchlist, current: dict) -> dict:
    """Who was added, removed or changed compared with the previously approved version."""
    previous = last_approved_snapshot(watchlist, before_version=current["version"])
    if previous is None:
        return {"previous_version": None, "added": current["entries"], "removed": [], "changed": []}
    before = {entry["subject"]: entry for entry in previous["entries"]}
    after = {entry["subject"]: entry for entry in current["entries"]}
    changed = []
    for subject in sorted(before.keys() & after.keys()):
        fields = sorted(key for key in after[subject] if before[subject].get(key) != after[subject][key])
        if fields:
            changed.append({"entry": after[subject], "fields": fields, "before": before[subject]})
    return {
        "previous_version": previous["version"],
        "added": [after[s] for s in sorted(after.keys() - before.keys())],
        "removed": [before[s] for s in sorted(before.keys() - after.keys())],
        "changed": changed,
    }


def subject_changed(actor, subject: Subject, now: datetime.datetime, reason: str) -> None:
    """An approval covers the subject's details as reviewed: lists submitted, approved or returned with the old
    details start a new version, which needs review again."""
    affected = Watchlist.objects.filter(
        entries__subject=subject,
        state__in=[WatchlistState.SUBMITTED, WatchlistState.APPROVED, WatchlistState.RETURNED],
    ).distinct()
    for watchlist in affected:
        locked = _lock(watchlist)
        _start_new_version(actor, locked, now, f"the details of subject {subject.pk} changed: {reason}")
        _bump_revision(locked)


def erase_entries(actor, entries, now: datetime.datetime, why: str) -> list[int]:
    """Take erased people or images off every list not yet purged, each list locked first (ids order, as everywhere
    else, so two erasures never deadlock). A list submitted, approved or returned starts a new draft version without
    them, which needs approval again: a deployment authorised on the old version stops matching until the new one is
    approved and authorised (deployments.is_live compares the hashes), so nobody is sought on a version that held an
    erased person. An expired list only loses the entry: its purge's manifest then never names them. Each list's
    change is a receipt in the log; the entries' history rows go too. Returns the ids of the lists changed."""
    changed = []
    by_list: dict[int, list[Entry]] = {}
    for entry in entries.select_related("image").order_by("watchlist_id", "pk"):
        by_list.setdefault(entry.watchlist_id, []).append(entry)
    for watchlist_id, held in by_list.items():
        locked = Watchlist.objects.select_for_update().get(pk=watchlist_id)
        if locked.state not in {WatchlistState.DRAFT, WatchlistState.EXPIRED}:
            _start_new_version(actor, locked, now, f"an erased person or image was on it: {why}")
        erased = [{"entry": entry.pk, "subject": entry.subject_id, "image": entry.image_id} for entry in held]
        Entry.objects.filter(pk__in=[entry.pk for entry in held]).delete()
        Entry.history.filter(id__in=[entry.pk for entry in held]).delete()
        _bump_revision(locked)
        audit.record(
            "watchlist.entry_erase",
            locked,
            actor,
            data={"version": locked.version, "state": locked.state, "erased": erased},
            reason=why,
        )
        changed.append(watchlist_id)
    return changed


def redact_erased_subject(subject_id: int) -> int:
    """Reduce an erased person to their id and category in every review snapshot and purge manifest that names them
    (what a purge keeps of everyone else is more: their name and PNC ID). The approvals' hashes in the log still
    commit to what was reviewed. Returns how many records were redacted."""
    redacted = 0
    for review in Review.objects.select_for_update().filter(snapshot__entries__contains=[{"subject": subject_id}]):
        review.snapshot["entries"] = [_erased(entry, subject_id) for entry in review.snapshot["entries"]]
        review.save(update_fields=["snapshot"])
        redacted += 1
    for manifest in Manifest.objects.select_for_update().filter(data__listed__contains=[{"subject": subject_id}]):
        manifest.data["listed"] = [_erased(entry, subject_id) for entry in manifest.data["listed"]]
        manifest.save(update_fields=["data"])
        redacted += 1
    return redacted


def _erased(entry: dict, subject_id: int) -> dict:
    if entry.get("subject") != subject_id:
        return entry
    return {"subject": subject_id, "category": entry.get("category"), "erased": True}
