"""Restriction of processing (DPA 2018 s.47(2)): while a restriction stands, the subject cannot be put on a watchlist,
a list holding them cannot be submitted or approved, and matching leaves their templates out
(`selectors.restricted_subject_ids`). A privacy officer imposes it on deciding a data-subject request, and lifts it."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.audit import services as audit
from govern import policy, records
from govern.errors import Conflict

from ..models import Subject, SubjectRestriction

MIN_TEXT = 10


def standing(subject: Subject) -> SubjectRestriction | None:
    """The subject's standing restriction, if any."""
    return SubjectRestriction.objects.filter(subject=subject, lifted_at__isnull=True).first()


@transaction.atomic
def restrict(actor, subject: Subject, *, grounds: str, request_reference: str, now=None) -> SubjectRestriction:
    """Restrict a subject's processing, as a data-subject request decided."""
    policy.require(actor, "watchlists.restrict_subject")
    now = records.moment(now)
    grounds = (grounds or "").strip()
    if len(grounds) < MIN_TEXT:
        raise ValidationError({"grounds": "Say why processing is restricted."})
    locked = Subject.objects.select_for_update().get(pk=subject.pk)
    if standing(locked) is not None:
        raise Conflict(f"{locked} is already under a restriction of processing.")
    restriction = SubjectRestriction(
        subject=locked, grounds=grounds, request_reference=request_reference, imposed_by=actor, imposed_at=now
    )
    try:
        with transaction.atomic():
            restriction.save()
    except IntegrityError as exc:
        raise Conflict(f"{locked} is already under a restriction of processing.") from exc
    audit.record(
        "subject.restrict",
        locked,
        actor,
        data={"restriction": restriction.pk, "request": request_reference, "grounds": audit.commitment(grounds)},
    )
    return restriction


@transaction.atomic
def lift(actor, restriction: SubjectRestriction, *, reason: str, now=None) -> SubjectRestriction:
    """Lift a standing restriction, with the reason (the accuracy settled, the request withdrawn)."""
    policy.require(actor, "watchlists.restrict_subject")
    now = records.moment(now)
    reason = (reason or "").strip()
    if len(reason) < MIN_TEXT:
        raise ValidationError({"reason": "Say why the restriction is lifted."})
    locked = SubjectRestriction.objects.select_for_update().get(pk=restriction.pk)
    if not locked.standing:
        raise Conflict("This restriction was already lifted.")
    locked.lifted_by, locked.lifted_at, locked.lift_reason = actor, now, reason
    locked.save()
    audit.record(
        "subject.restriction_lift",
        locked.subject,
        actor,
        data={"restriction": locked.pk, "request": locked.request_reference},
        reason=reason,
    )
    return locked
