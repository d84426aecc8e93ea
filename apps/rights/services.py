"""Every change to a data-subject request: permission, one transaction, the row locked, the change, its audit event.

A request moves received → verified (identity checked) → decided (a privacy officer who did not log it grants or
refuses, a refusal on a ground of s.45(4)/s.48(3)) → closed (the response recorded). A wrong state is a Conflict
(409) that changes nothing; a closed request is locked.

What a decision does besides recording itself is in `EFFECTS`, one function a right: a restriction granted
restricts the subject's processing (apps.watchlists, which keeps them off lists and out of matching); an erasure
granted erases the subject and every copy (apps.watchlists.services.erasure) in the deciding transaction, so a
refusal there (evidence that must be kept) leaves the request undecided. An erasure decision records whether the
person was convicted: an unconvicted person's images are presumed to be deleted, so refusing them also records why
the presumption does not hold (`presumption_reasons`). Personal data (the requester's name, contact, their words)
reaches the log only as commitments.
"""

import datetime
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit import services as audit
from apps.watchlists.models import Subject
from apps.watchlists.services import erasure, restriction
from govern import policy, records
from govern.errors import Conflict

from .choices import (
    MAX_EXTENSION_MONTHS,
    MIN_TEXT,
    RESPONSE_MONTHS,
    Channel,
    Decision,
    IdentityMethod,
    RefusalGround,
    RequestKind,
    RequestState,
)
from .models import RightsRequest

LOG_FIELDS = (
    "kind",
    "channel",
    "received_at",
    "requester_name",
    "requester_date_of_birth",
    "requester_pnc_id",
    "requester_contact",
    "details",
)
PERSONAL_FIELDS = ("requester_name", "requester_date_of_birth", "requester_pnc_id", "requester_contact", "details")
FIND_LIMIT = 2  # more than one person found is as good as none: the desk asks for the PNC ID


def _text(value) -> str:
    return (value or "").strip()


def due_at(received_at: datetime.datetime, extension_months: int = 0) -> datetime.datetime:
    """One calendar month from receipt (plus any extension), on the London wall clock: received 31 January, due
    28 (or 29) February."""
    return timezone.localtime(received_at) + relativedelta(months=RESPONSE_MONTHS + extension_months)


def _personal(request: RightsRequest) -> str:
    return audit.commitment({field: getattr(request, field) for field in PERSONAL_FIELDS})


def _lock(actor, request: RightsRequest, action: str = "rights.change_rightsrequest") -> RightsRequest:
    """Lock the request row, check the actor may act on it and that it is not closed."""
    locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
    policy.require(actor, action, locked)
    if locked.is_closed:
        raise Conflict(f"{locked.reference} was answered and is closed: nothing on it can change.")
    return locked


def _expect(request: RightsRequest, states, doing: str) -> None:
    if request.state not in states:
        raise Conflict(f"{request.reference} is '{request.get_state_display()}': {doing} is not possible now.")


# --- Logging and linking ---------------------------------------------------------------------------------------------


@transaction.atomic
def log_request(actor, *, now=None, **fields) -> RightsRequest:
    """Log a request as it arrived; its month runs from `received_at`."""
    policy.require(actor, "rights.add_rightsrequest")
    unknown = set(fields) - set(LOG_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown request fields: {', '.join(sorted(unknown))}.")
    now = records.moment(now)
    request = RightsRequest(logged_by=actor, logged_at=now, **fields)
    for field in ("requester_name", "requester_pnc_id", "requester_contact", "details"):
        setattr(request, field, _text(getattr(request, field)))
    errors: dict = {}
    if request.kind not in RequestKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(RequestKind.values)}."]
    if request.channel not in Channel.values:
        errors["channel"] = [f"Choose one of: {', '.join(Channel.values)}."]
    received = request.received_at
    if not isinstance(received, datetime.datetime) or timezone.is_naive(received):
        errors["received_at"] = ["Give the date and time the request was received."]
    elif received > now + datetime.timedelta(minutes=5):
        errors["received_at"] = ["A request cannot be received in the future."]
    else:
        request.due_at = due_at(received)
    if not request.requester_name:
        errors["requester_name"] = ["Give the requester's name as they gave it."]
    if not request.requester_contact:
        errors["requester_contact"] = ["Record where the response goes."]
    if len(request.details) < MIN_TEXT and request.kind != RequestKind.ACCESS:
        errors["details"] = ["Say what the person asks to be corrected, erased or restricted."]
    request.reference = records.next_reference(RightsRequest, "DSR", now)
    excluded = ["logged_by", "subject", *errors]
    if "received_at" in errors:
        excluded.append("due_at")
    records.gather(errors, lambda: records.validate(request, exclude=excluded))
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as exc:
        raise Conflict(f"The reference {request.reference} is taken; try again.") from exc
    audit.record(
        "rights_request.log",
        request,
        actor,
        data={
            "reference": request.reference,
            "kind": request.kind,
            "channel": request.channel,
            "received_at": request.received_at,
            "due_at": request.due_at,
            "requester": _personal(request),
        },
    )
    return request


def _find(pnc_id: str, name: str, date_of_birth) -> list[Subject]:
    """The subjects a PNC ID names, or a name with a date of birth: the family name (the last word) and the first
    given name must match, ignoring case."""
    if pnc_id:
        return list(Subject.objects.filter(pnc_id__iexact=pnc_id)[:FIND_LIMIT])
    words = name.split()
    if len(words) < 2 or date_of_birth is None:
        raise ValidationError({"name": "Give the PNC ID, or the full name with the date of birth."})
    found = Subject.objects.filter(
        Q(family_name__iexact=words[-1]) & Q(given_names__istartswith=words[0]), date_of_birth=date_of_birth
    )
    return [
        subject for subject in found[: FIND_LIMIT * 5] if subject.given_names.split()[0].lower() == words[0].lower()
    ][:FIND_LIMIT]


@dataclass(frozen=True)
class LookUp:
    """What a look-up found: the request (linked when exactly one person matched) and how many matched (0, 1, or 2
    for more than one)."""

    request: RightsRequest
    matches: int

    @property
    def message(self) -> str:
        """What the desk is told."""
        if self.matches == 1:
            return f"{self.request.reference} is linked to the person's record."
        if self.matches == 0:
            return "No record held matches: check the details, or answer that nothing is held."
        return "More than one person matches: find the record by PNC ID."


@transaction.atomic
def link_subject(actor, request: RightsRequest, *, pnc_id: str = "", name: str = "", date_of_birth=None, now=None):
    """Find the person's record by PNC ID, or name and date of birth, and link it when exactly one person matches.
    The look-up is a consultation of the gallery, logged with the request as its reason and the ids found, whatever
    it finds (so a look-up that finds nobody is an answer, not an error)."""
    locked = _lock(actor, request)
    # Before the decision only: the decider decides on the record linked, and a link made after it would hand the
    # person who logged the request someone else's record through the access pack, or strand a restriction.
    _expect(locked, [RequestState.RECEIVED, RequestState.VERIFIED], "linking a record")
    now = records.moment(now)
    pnc_id, name = _text(pnc_id), " ".join(_text(name).split())
    subjects = _find(pnc_id, name, date_of_birth)
    asked = {"pnc_id": pnc_id} if pnc_id else {"name": name, "date_of_birth": date_of_birth}
    audit.record_access(
        ("watchlists.subject", "search"),
        actor,
        f"Data-subject request {locked.reference}: finding the requester's record",
        data={"query": audit.commitment(asked), "results": [subject.pk for subject in subjects]},
    )
    if len(subjects) == 1:
        locked.subject, locked.linked_by, locked.linked_at = subjects[0], actor, now
        locked.save()
        audit.record(
            "rights_request.link",
            locked,
            actor,
            data={"subject": locked.subject_id, "by": "pnc_id" if pnc_id else "name_and_date_of_birth"},
        )
    return LookUp(locked, len(subjects))


# --- Identity, clock -------------------------------------------------------------------------------------------------


@transaction.atomic
def check_identity(actor, request: RightsRequest, *, method: str, note: str, now=None) -> RightsRequest:
    """Record who checked the requester's identity, how and when: no decision before it."""
    locked = _lock(actor, request)
    _expect(locked, [RequestState.RECEIVED], "checking identity")
    errors = {}
    if method not in IdentityMethod.values:
        errors["method"] = f"Choose one of: {', '.join(IdentityMethod.values)}."
    note = _text(note)
    if len(note) < MIN_TEXT:
        errors["note"] = "Say what was seen (the document, and how it matched)."
    if errors:
        raise ValidationError(errors)
    locked.identity_method, locked.identity_note = method, note
    locked.identity_checked_by, locked.identity_checked_at = actor, records.moment(now)
    locked.state = RequestState.VERIFIED
    locked.save()
    audit.record("rights_request.identity", locked, actor, data={"method": method, "note": audit.commitment(note)})
    return locked


@transaction.atomic
def extend(actor, request: RightsRequest, *, months: int, reason: str) -> RightsRequest:
    """Extend the time limit of a complex request, with the reason; at most MAX_EXTENSION_MONTHS in all."""
    locked = _lock(actor, request)
    _expect(locked, [RequestState.RECEIVED, RequestState.VERIFIED], "an extension")
    room = MAX_EXTENSION_MONTHS - locked.extension_months
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= max(room, 0):
        raise ValidationError(
            {"months": f"{room} more month(s) at most." if room else "The time limit was extended as far as it goes."}
        )
    reason = _text(reason)
    if len(reason) < MIN_TEXT:
        raise ValidationError({"reason": "Say why the request needs more time."})
    locked.extension_months += months
    locked.extension_reason = "\n".join(filter(None, [locked.extension_reason, reason]))
    locked.extended_by, locked.extended_at = actor, timezone.now()
    locked.due_at = due_at(locked.received_at, locked.extension_months)
    locked.save()
    audit.record(
        "rights_request.extend",
        locked,
        actor,
        data={"months": months, "extension_months": locked.extension_months, "due_at": locked.due_at},
        reason=reason,
    )
    return locked


# --- The decision ----------------------------------------------------------------------------------------------------


def _restrict(actor, request: RightsRequest, now) -> dict:
    granted = restriction.restrict(
        actor, request.subject, grounds=request.decision_note or request.details, request_reference=request.reference,
        now=now,
    )  # fmt: skip
    return {"restriction": granted.pk}


def _erase(actor, request: RightsRequest, now) -> dict:
    # The reason names the request, not the decision's note: the note is logged with the decision, and the erasure's
    # receipt stays free of anything the person said or is.
    erased = erasure.delete_subject(
        actor, request.subject_id, reason=f"Erasure request {request.reference} granted", now=now
    )
    request.subject = None  # the erasure unlinked it in the database (SET_NULL)
    return {"erasure": erased.seq if erased else None}


# What a granted request does beyond its record, by right. Access is answered by the response pack; rectification
# by the compiler correcting the subject (watchlists.update_subject).
EFFECTS = {RequestKind.RESTRICTION: _restrict, RequestKind.ERASURE: _erase}


def _check_presumption(request: RightsRequest, decision: str, convicted, reasons: str, errors: dict) -> None:
    """An erasure decision says whether the person was convicted; refusing an unconvicted person says why the
    presumption of deletion does not hold. Other requests carry neither."""
    if request.kind != RequestKind.ERASURE:
        if convicted is not None or reasons:
            errors["convicted"] = "Only an erasure decision records a conviction and the presumption of deletion."
        return
    if convicted is None:
        errors["convicted"] = "Record whether the person was convicted: an unconvicted person is presumed erased."
    elif decision == Decision.REFUSE and convicted is False and len(reasons) < MIN_TEXT:
        errors["presumption_reasons"] = (
            "The person was not convicted, so their images are presumed to be deleted: say why they are kept."
        )
    elif reasons and not (decision == Decision.REFUSE and convicted is False):
        errors["presumption_reasons"] = "Reasons against the presumption go with refusing an unconvicted person."


@transaction.atomic
def decide(
    actor,
    request: RightsRequest,
    *,
    decision: str,
    refusal_ground: str = "",
    note: str = "",
    convicted: bool | None = None,
    presumption_reasons: str = "",
    now=None,
) -> RightsRequest:
    """A privacy officer (not the one who logged it) grants or refuses the request, identity checked first; a
    refusal names its ground from s.45(4)/s.48(3) (or s.53(1)). A granted restriction or erasure takes effect at once;
    an erasure decision records whether the person was convicted (and refusing an unconvicted person, why)."""
    locked = _lock(actor, request, "rights.decide_rightsrequest")
    _expect(locked, [RequestState.VERIFIED], "a decision")
    now = records.moment(now)
    note = _text(note)
    errors = {}
    if decision not in Decision.values:
        errors["decision"] = "Choose to grant or refuse the request."
    elif decision == Decision.REFUSE:
        if refusal_ground not in RefusalGround.values:
            errors["refusal_ground"] = "Choose the legal ground of the refusal."
        if len(note) < MIN_TEXT:
            errors["note"] = "Say why the request is refused."
    elif refusal_ground:
        errors["refusal_ground"] = "A request granted has no ground of refusal."
    presumption_reasons = _text(presumption_reasons)
    _check_presumption(locked, decision, convicted, presumption_reasons, errors)
    needs_record = locked.kind != RequestKind.ACCESS
    if decision == Decision.GRANT and needs_record and locked.subject_id is None:
        errors["decision"] = "Link the person's record first: a granted request acts on it."
    if errors:
        raise ValidationError(errors)
    locked.decision, locked.refusal_ground, locked.decision_note = decision, refusal_ground, note
    locked.convicted, locked.presumption_reasons = convicted, presumption_reasons
    locked.decided_by, locked.decided_at, locked.state = actor, now, RequestState.DECIDED
    locked.save()
    effect = EFFECTS.get(locked.kind) if decision == Decision.GRANT else None
    done = effect(actor, locked, now) if effect is not None else {}
    if locked.kind == RequestKind.ERASURE:
        done = {**done, "convicted": convicted, "presumption_reasons": audit.commitment(presumption_reasons)}
    audit.record(
        "rights_request.decide",
        locked,
        actor,
        data={"decision": decision, "kind": locked.kind, "refusal_ground": refusal_ground, **done},
        reason=note,
    )
    return locked


@transaction.atomic
def respond(actor, request: RightsRequest, *, response: str, now=None) -> RightsRequest:
    """Record the response sent to the person; the request closes and is locked."""
    locked = _lock(actor, request)
    _expect(locked, [RequestState.DECIDED], "the response")
    response = _text(response)
    if len(response) < MIN_TEXT:
        raise ValidationError({"response": "Say what the person was told, and how."})
    now = records.moment(now)
    locked.response, locked.responded_by, locked.responded_at = response, actor, now
    locked.state = RequestState.CLOSED
    locked.save()
    audit.record(
        "rights_request.respond",
        locked,
        actor,
        data={"response": audit.commitment(response), "within_time": now <= locked.due_at},
    )
    return locked


@transaction.atomic
def lift_restriction(actor, request: RightsRequest, *, reason: str, now=None):
    """Lift the restriction a request imposed (the accuracy settled, the request withdrawn)."""
    locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
    # Lifting undoes a decision, so it takes what deciding takes: never the privacy officer who logged the request.
    policy.require(actor, "rights.decide_rightsrequest", locked)
    standing = locked.subject and restriction.standing(locked.subject)
    if not standing or standing.request_reference != locked.reference:
        raise Conflict(f"No restriction imposed by {locked.reference} stands.")
    return restriction.lift(actor, standing, reason=reason, now=now)
