"""Every change to a Sarah's Law case: permission, one transaction, the change, its audit event.

The case moves through guarded stages: contact → checked → met (right to ask) → assessed → the forum decides →
to_disclose → (undertaking signed) ready → disclosed → completed with the outcome letter; or not_disclosed →
completed with the non-disclosure letter. A refused undertaking sends the case back to the forum (returned), which
decides again whether to disclose anyway. Each transition locks the case row and checks its stage; a wrong stage
is a Conflict (409) that changes nothing. A completed case is locked: every change is refused.

Personal data (names, contact details, what was said, check results, rationales) reaches the log only as
commitments, never in clear.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.audit import services as audit
from apps.matching.choices import AlertState
from apps.matching.models import Alert
from govern import policy, records
from govern.errors import Conflict

from . import permissions
from .choices import (
    CASE_PERIOD,
    CHECKS_PERIOD,
    FORUM_STAGES,
    MAX_EXTENSION_DAYS,
    MEETING_PERIOD,
    CarerKnows,
    CheckKind,
    ContactMethod,
    Decision,
    ExtensionState,
    Forum,
    LetterKind,
    RiskLevel,
    Route,
    Stage,
    UndertakingOutcome,
)
from .models import Check, Child, Disclosure, DisclosureCase, Extension, ForumDecision, Letter

CASE_FIELDS = (
    "route",
    "contact_method",
    "contact_at",
    "applicant_name",
    "applicant_relationship",
    "applicant_safe_contact",
    "subject_name",
    "subject_date_of_birth",
    "subject_relationship",
    "household",
    "immediate_risk",
    "safeguarding_action",
)
PERSONAL_CASE_FIELDS = (
    "applicant_name",
    "applicant_relationship",
    "applicant_safe_contact",
    "subject_name",
    "subject_date_of_birth",
    "subject_relationship",
    "household",
)
CHILD_FIELDS = ("name", "date_of_birth", "carer_name", "carer_knows")
REQUIRED_CHECKS = (CheckKind.NATIONAL_SYSTEMS, CheckKind.SEX_OFFENDER_REGISTER)
MIN_TEXT = 10  # the shortest rationale, result or reason worth the name


def _text(value) -> str:
    return (value or "").strip()


def _need(value, field: str, message: str, minimum: int = 1) -> str:
    text = _text(value)
    if len(text) < minimum:
        raise ValidationError({field: message})
    return text


# --- Clocks --------------------------------------------------------------------------------------------------------


def clocks(contact_at: datetime.datetime, extension_days: int = 0) -> dict[str, datetime.datetime]:
    """The deadlines from the first contact: 24 hours; 10 and 45 days (plus extensions) by the London calendar."""
    local = timezone.localtime(contact_at)  # days are counted on the wall clock, so a clock change moves nothing
    return {
        "checks_due_at": contact_at + CHECKS_PERIOD,
        "meeting_due_at": local + MEETING_PERIOD,
        "case_due_at": local + CASE_PERIOD + datetime.timedelta(days=extension_days),
    }


# --- Guards --------------------------------------------------------------------------------------------------------


def _lock(actor, case: DisclosureCase, action: str = "disclosures.change_disclosurecase") -> DisclosureCase:
    """Lock the case row, check the actor may change it and that it is not completed."""
    locked = DisclosureCase.objects.select_for_update().get(pk=case.pk)
    policy.require(actor, action, locked)
    if locked.is_completed:
        raise Conflict(f"{locked.reference} is completed and locked: nothing on it can change.")
    return locked


def _expect(case: DisclosureCase, stages, doing: str) -> None:
    if case.stage not in stages:
        raise Conflict(f"{case.reference} is at '{case.stage_label}': {doing} is not possible now.")


def _personal(case: DisclosureCase) -> str:
    return audit.commitment({field: getattr(case, field) for field in PERSONAL_CASE_FIELDS})


# --- Opening -------------------------------------------------------------------------------------------------------


def _child(actor, case: DisclosureCase, fields: dict) -> Child:
    """A child of the case, validated (every problem at once) but not saved."""
    unknown = set(fields) - set(CHILD_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown child fields: {', '.join(sorted(unknown))}.")
    child = Child(case=case, added_by=actor, **fields)
    errors: dict = {}
    if not _text(child.name):
        errors["name"] = ["Give the child's first name or initials."]
    child.name = _text(child.name)
    if child.carer_knows not in CarerKnows.values:
        errors["carer_knows"] = [f"Choose one of: {', '.join(CarerKnows.values)}."]
    records.gather(errors, lambda: records.validate(child, exclude=["case", "added_by", *errors]))
    if errors:
        raise ValidationError(errors)
    return child


def _add_child(actor, case: DisclosureCase, fields: dict) -> Child:
    child = _child(actor, case, fields)
    child.save()
    return child


def _validate_case(case: DisclosureCase, now) -> None:
    """Every problem of a new case at once."""
    errors: dict = {}
    if case.route not in Route.values:
        errors["route"] = [f"Choose one of: {', '.join(Route.values)}."]
    if case.contact_method not in ContactMethod.values:
        errors["contact_method"] = [f"Choose one of: {', '.join(ContactMethod.values)}."]
    if case.contact_at is None or timezone.is_naive(case.contact_at):
        errors["contact_at"] = ["Give the date and time of the first contact."]
    elif case.contact_at > now + datetime.timedelta(minutes=5):
        errors["contact_at"] = ["The first contact cannot be in the future."]

    def need(field: str, message: str, minimum: int = 1) -> None:
        records.gather(errors, lambda: setattr(case, field, _need(getattr(case, field), field, message, minimum)))

    need("subject_name", "Name the person the case is about.")
    if case.route == Route.RIGHT_TO_ASK:
        need("applicant_name", "Name the applicant.")
        need("applicant_safe_contact", "Record a safe way to reach the applicant.")
        need("subject_relationship", "Record the subject's relationship to the child.")
    if case.immediate_risk:
        need(
            "safeguarding_action",
            "A child at immediate risk goes straight to safeguarding: record what was done.",
            MIN_TEXT,
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def open_case(
    actor,
    *,
    children=(),
    officer_in_charge=None,
    reference: str = "",
    watchlist_subject=None,
    alert=None,
    alert_reference: str = "",
    now=None,
    **fields,
) -> DisclosureCase:
    """Open a case at first contact, with the immediate-risk triage; every clock starts at the contact."""
    policy.require(actor, "disclosures.add_disclosurecase")
    unknown = set(fields) - set(CASE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown case fields: {', '.join(sorted(unknown))}.")
    now = records.moment(now)
    officer_in_charge = officer_in_charge or actor
    if not permissions.is_case_worker(officer_in_charge):
        raise ValidationError({"officer_in_charge": "The officer in charge must be an officer of the unit."})
    case = DisclosureCase(
        reference=_text(reference) or records.next_reference(DisclosureCase, "CSODS", now),
        officer_in_charge=officer_in_charge,
        opened_by=actor,
        watchlist_subject=watchlist_subject,
        alert=alert,
        alert_reference=alert_reference,
        **fields,
    )
    for field in ("applicant_name", "applicant_relationship", "applicant_safe_contact", "household"):
        setattr(case, field, _text(getattr(case, field)))
    errors: dict = {}
    records.gather(errors, lambda: _validate_case(case, now))
    if case.route == Route.RIGHT_TO_ASK and not children:
        errors["children"] = ["Name the child the application is about."]
    excluded = ["officer_in_charge", "opened_by", "watchlist_subject", "alert", *errors]
    if "contact_at" in errors:
        excluded += ["checks_due_at", "meeting_due_at", "case_due_at"]
    else:
        for field, due in clocks(case.contact_at).items():
            setattr(case, field, due)
    records.gather(errors, lambda: records.validate(case, exclude=excluded))
    # Each child's problems, named by the child's place in the list, with the case's.
    for number, fields in enumerate(children, start=1):
        found: dict = {}
        records.gather(found, lambda fields=fields: _child(actor, case, dict(fields)))
        for field, messages in found.items():
            errors.setdefault(f"child_{field}" if len(children) == 1 else "children", []).extend(
                f"Child {number}: {message}" if len(children) > 1 else message for message in messages
            )
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError as exc:
        raise Conflict(f"The reference {case.reference} is taken; try again.") from exc
    for child in children:
        _add_child(actor, case, dict(child))
    audit.record(
        "disclosure_case.open_from_alert" if alert is not None else "disclosure_case.open",
        case,
        actor,
        data={
            "reference": case.reference,
            "route": case.route,
            "contact_method": case.contact_method,
            "contact_at": case.contact_at,
            "officer_in_charge": officer_in_charge.pk,
            "immediate_risk": case.immediate_risk,
            "children": case.children.count(),
            "alert": alert.pk if alert is not None else None,
            "personal": _personal(case),
            "deadlines": {field: getattr(case, field) for field in ("checks_due_at", "meeting_due_at", "case_due_at")},
        },
    )
    if case.immediate_risk:
        audit.record(
            "disclosure_case.safeguarding", case, actor, data={"action": audit.commitment(case.safeguarding_action)}
        )
    return case


@transaction.atomic
def open_from_alert(actor, alert: Alert, *, now=None) -> DisclosureCase:
    """Right to be told: open a case from an adjudicated alert on a registered sex offender, cross-referenced."""
    policy.require(actor, "disclosures.add_disclosurecase")
    # Not the subject's row: an erased subject leaves the alert naming no one (an outer join, which cannot be locked);
    # the alert's own lock keeps an erasure, which takes it too, from detaching it meanwhile.
    alert = (
        Alert.objects.select_for_update(of=("self", "deployment"))
        .select_related("subject", "deployment")
        .get(pk=alert.pk)
    )
    if alert.state == AlertState.PENDING:
        raise Conflict(f"Alert {alert.pk} has not been adjudicated: judge it before acting on it.")
    if alert.found_false:
        raise Conflict(f"Alert {alert.pk} was found a false alert (at judgement or after the stop): nobody to act on.")
    if alert.subject is None:
        raise Conflict(f"Alert {alert.pk}'s subject has been erased: nobody to act on.")
    if not alert.subject.registered_sex_offender:
        raise ValidationError("The alert's subject is not recorded as a registered sex offender.")
    existing = DisclosureCase.objects.filter(alert=alert).first()
    if existing is not None:
        raise Conflict(f"Alert {alert.pk} already opened {existing.reference}.")
    subject = alert.subject
    return open_case(
        actor,
        route=Route.RIGHT_TO_BE_TOLD,
        contact_method=ContactMethod.POLICE_INFORMATION,
        contact_at=records.moment(now),
        subject_name=f"{subject.given_names} {subject.family_name}",
        subject_date_of_birth=subject.date_of_birth,
        watchlist_subject=subject,
        alert=alert,
        alert_reference=f"Alert {alert.pk} at {alert.deployment.reference}",
        now=now,
    )


# --- The case's contents -------------------------------------------------------------------------------------------


@transaction.atomic
def add_child(actor, case: DisclosureCase, **fields) -> Child:
    """Record another child of the case."""
    locked = _lock(actor, case)
    child = _add_child(actor, locked, fields)
    audit.record(
        "disclosure_case.child_added",
        locked,
        actor,
        data={"child": child.pk, "carer_knows": child.carer_knows, "personal": audit.commitment(fields)},
    )
    return child


@transaction.atomic
def record_check(actor, case: DisclosureCase, *, kind: str, result: str, agency: str = "", made_at=None) -> Check:
    """A check made: on which system or with which agency, by whom, when, and its result."""
    locked = _lock(actor, case)
    _expect(locked, [Stage.CONTACT, Stage.CHECKED, Stage.MET, Stage.ASSESSED, Stage.RETURNED], "recording a check")
    if kind not in CheckKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(CheckKind.values)}."})
    result = _need(result, "result", "Record what the check found.", 2)
    if kind == CheckKind.PARTNER_AGENCY:
        agency = _need(agency, "agency", "Name the partner agency and who answered.")
    made_at = records.moment(made_at)
    if made_at < locked.contact_at:
        raise ValidationError({"made_at": "A check cannot come before the first contact."})
    check = Check(case=locked, kind=kind, agency=_text(agency), made_by=actor, made_at=made_at, result=result)
    records.validate(check, exclude=["case", "made_by"])
    check.save()
    audit.record(
        "disclosure_case.check",
        locked,
        actor,
        data={"check": check.pk, "kind": kind, "made_at": made_at, "result": audit.commitment([agency, result])},
    )
    return check


@transaction.atomic
def complete_checks(actor, case: DisclosureCase, *, now=None) -> DisclosureCase:
    """Close the checks stage once national systems and the register have been checked."""
    locked = _lock(actor, case)
    _expect(locked, [Stage.CONTACT], "completing the checks")
    done = set(locked.checks.values_list("kind", flat=True))
    missing = [CheckKind(kind).label for kind in REQUIRED_CHECKS if kind not in done]
    if missing:
        raise ValidationError(f"Still to check: {'; '.join(missing)}.")
    locked.stage, locked.checks_completed_at = Stage.CHECKED, records.moment(now)
    locked.save()
    audit.record(
        "disclosure_case.checks_complete",
        locked,
        actor,
        data={
            "checks": sorted(done),
            "completed_at": locked.checks_completed_at,
            "within_24_hours": locked.checks_completed_at <= locked.checks_due_at,
        },
    )
    return locked


@transaction.atomic
def record_meeting(
    actor, case: DisclosureCase, *, identity_verified_with: str, notes: str = "", met_at=None
) -> DisclosureCase:
    """The face-to-face meeting with the applicant, their identity verified."""
    locked = _lock(actor, case)
    _expect(locked, [Stage.CHECKED], "recording the face-to-face meeting")
    identity = _need(identity_verified_with, "identity_verified_with", "Record the document that verified identity.")
    met_at = records.moment(met_at)
    if met_at < locked.contact_at:
        raise ValidationError({"met_at": "The meeting cannot come before the first contact."})
    locked.stage, locked.met_at, locked.met_by = Stage.MET, met_at, actor
    locked.identity_verified_with, locked.meeting_notes = identity, _text(notes)
    locked.save()
    audit.record(
        "disclosure_case.meeting",
        locked,
        actor,
        data={
            "met_at": met_at,
            "within_10_days": met_at <= locked.meeting_due_at,
            "personal": audit.commitment([identity, locked.meeting_notes]),
        },
    )
    return locked


@transaction.atomic
def record_risk_assessment(
    actor, case: DisclosureCase, *, risk_level: str, assessment: str, has_child_sexual_offence_convictions: bool
) -> DisclosureCase:
    """The full risk assessment; on the right-to-ask route only after the meeting."""
    locked = _lock(actor, case)
    stages = [Stage.MET] if locked.needs_meeting else [Stage.CHECKED, Stage.MET]
    _expect(locked, stages, "the risk assessment")
    if risk_level not in RiskLevel.values:
        raise ValidationError({"risk_level": f"Choose one of: {', '.join(RiskLevel.values)}."})
    assessment = _need(assessment, "assessment", "Write the risk assessment.", MIN_TEXT)
    locked.stage, locked.assessed_at, locked.assessed_by = Stage.ASSESSED, timezone.now(), actor
    locked.risk_level, locked.risk_assessment = risk_level, assessment
    locked.has_child_sexual_offence_convictions = bool(has_child_sexual_offence_convictions)
    locked.save()
    audit.record(
        "disclosure_case.risk_assessment",
        locked,
        actor,
        data={
            "risk_level": risk_level,
            "convictions": locked.has_child_sexual_offence_convictions,
            "assessment": audit.commitment(assessment),
        },
    )
    return locked


def presumption_applies(case: DisclosureCase) -> bool:
    """The presumption to disclose: convictions for child sexual offences and a risk to the child."""
    return bool(case.has_child_sexual_offence_convictions) and case.risk_level not in ("", RiskLevel.NONE)


@transaction.atomic
def record_forum_decision(
    actor,
    case: DisclosureCase,
    *,
    forum: str,
    attendees: str,
    decision: str,
    rationale: str,
    necessary_and_proportionate: bool = False,
    held_at=None,
) -> ForumDecision:
    """The forum's decision, who sat and why; after a refused undertaking, whether to disclose anyway."""
    locked = _lock(actor, case)
    _expect(locked, FORUM_STAGES, "a forum decision")
    if forum not in Forum.values:
        raise ValidationError({"forum": f"Choose one of: {', '.join(Forum.values)}."})
    if decision not in Decision.values:
        raise ValidationError({"decision": f"Choose one of: {', '.join(Decision.values)}."})
    attendees = _need(attendees, "attendees", "Record who attended the forum.")
    rationale = _need(rationale, "rationale", "Record the forum's rationale.", MIN_TEXT)
    presumed = presumption_applies(locked)
    if decision == Decision.DISCLOSE and not necessary_and_proportionate:
        raise ValidationError(
            {"necessary_and_proportionate": "A disclosure must be necessary and proportionate to protect the child."}
        )
    if decision == Decision.NOT_DISCLOSE and presumed and len(rationale) < 40:
        raise ValidationError(
            {
                "rationale": "The subject has convictions for child sexual offences and poses a risk: disclosure is "
                "presumed. Explain fully why the forum departs from the presumption."
            }
        )
    held_at = records.moment(held_at)
    after_refusal = locked.stage == Stage.RETURNED
    record = ForumDecision(
        case=locked,
        forum=forum,
        held_at=held_at,
        attendees=attendees,
        decision=decision,
        rationale=rationale,
        necessary_and_proportionate=bool(necessary_and_proportionate),
        presumption_to_disclose=presumed,
        after_refusal=after_refusal,
        recorded_by=actor,
    )
    records.validate(record, exclude=["case", "recorded_by"])
    record.save()
    if decision == Decision.NOT_DISCLOSE:
        locked.stage = Stage.NOT_DISCLOSED
    else:  # disclosing anyway after a refusal goes straight to the disclosure, without an undertaking
        locked.stage = Stage.READY if after_refusal else Stage.TO_DISCLOSE
    locked.save()
    audit.record(
        "disclosure_case.forum_decision",
        locked,
        actor,
        data={
            "decision": decision,
            "forum": forum,
            "held_at": held_at,
            "after_refusal": after_refusal,
            "presumption_to_disclose": presumed,
            "necessary_and_proportionate": record.necessary_and_proportionate,
            "attendees": audit.commitment(attendees),
            "rationale": audit.commitment(rationale),
        },
    )
    return record


# --- The disclosure ------------------------------------------------------------------------------------------------


@transaction.atomic
def record_undertaking(
    actor,
    case: DisclosureCase,
    *,
    recipient_name: str,
    recipient_relationship: str,
    recipient_is_applicant: bool,
    warning_given: bool,
    signed: bool,
    recipient_reason: str = "",
    note: str = "",
    at=None,
) -> Disclosure:
    """The legal warning and the recipient's confidentiality undertaking; a refusal goes back to the forum."""
    locked = _lock(actor, case)
    _expect(locked, [Stage.TO_DISCLOSE], "recording the undertaking")
    recipient_name = _need(recipient_name, "recipient_name", "Name the person best placed to protect the child.")
    recipient_relationship = _need(recipient_relationship, "recipient_relationship", "Their relationship to the child.")
    if recipient_is_applicant and locked.route != Route.RIGHT_TO_ASK:
        raise ValidationError({"recipient_is_applicant": "A right-to-be-told case has no applicant."})
    if not recipient_is_applicant:
        recipient_reason = _need(
            recipient_reason,
            "recipient_reason",
            "Say why this person, not the applicant, is best placed to protect the child.",
            MIN_TEXT,
        )
    if not warning_given:
        raise ValidationError({"warning_given": "Give the legal warning on confidentiality before the undertaking."})
    at = records.moment(at)
    disclosure = Disclosure(
        case=locked,
        recipient_name=recipient_name,
        recipient_relationship=recipient_relationship,
        recipient_is_applicant=bool(recipient_is_applicant),
        recipient_reason=_text(recipient_reason),
        warning_given=True,
        undertaking=UndertakingOutcome.SIGNED if signed else UndertakingOutcome.REFUSED,
        undertaking_at=at,
        undertaking_note=_text(note),
        undertaking_by=actor,
    )
    records.validate(disclosure, exclude=["case", "undertaking_by", "disclosed_by"])
    disclosure.save()
    locked.stage = Stage.READY if signed else Stage.RETURNED
    locked.save()
    audit.record(
        "disclosure_case.undertaking",
        locked,
        actor,
        data={
            "signed": bool(signed),
            "at": at,
            "recipient_is_applicant": disclosure.recipient_is_applicant,
            "recipient": audit.commitment([recipient_name, recipient_relationship, disclosure.recipient_reason]),
        },
    )
    return disclosure


@transaction.atomic
def record_disclosure(actor, case: DisclosureCase, *, content: str, in_person: bool, disclosed_at=None) -> Disclosure:
    """The disclosure itself, in person, to the recipient: only after the forum decided to disclose."""
    locked = _lock(actor, case)
    if locked.stage in (Stage.CONTACT, Stage.CHECKED, Stage.MET, Stage.ASSESSED, Stage.NOT_DISCLOSED):
        raise Conflict(f"{locked.reference}: no disclosure without a forum decision to disclose.")
    _expect(locked, [Stage.READY], "recording the disclosure (the undertaking comes first)")
    if not in_person:
        raise ValidationError({"in_person": "A disclosure is made in person."})
    content = _need(content, "content", "Record what was said.", MIN_TEXT)
    disclosure = Disclosure.objects.select_for_update().get(case=locked)
    disclosure.disclosed_by, disclosure.disclosed_at = actor, records.moment(disclosed_at)
    disclosure.in_person, disclosure.content = True, content
    disclosure.save()
    locked.stage = Stage.DISCLOSED
    locked.save()
    audit.record(
        "disclosure_case.disclosed",
        locked,
        actor,
        data={
            "disclosed_at": disclosure.disclosed_at,
            "undertaking": disclosure.undertaking,
            "recipient": audit.commitment(disclosure.recipient_name),
            "content": audit.commitment(content),
        },
    )
    return disclosure


LETTER_FOR_STAGE = {Stage.DISCLOSED: LetterKind.DISCLOSURE_OUTCOME, Stage.NOT_DISCLOSED: LetterKind.NON_DISCLOSURE}


def letter_addressee(case: DisclosureCase) -> str:
    """Who the letter is for: the disclosure's recipient, or the applicant."""
    if case.stage == Stage.DISCLOSED:
        return case.disclosure.recipient_name
    return case.applicant_name or "The case file (no applicant: right to be told)"


def render_letter(case: DisclosureCase, kind: str, *, issued_by, issued_at) -> str:
    """The letter's HTML from its template."""
    decision = case.decisions.order_by("-recorded_at", "-id").first()
    context = {
        "case": case,
        "addressee": letter_addressee(case),
        "decision": decision,
        "disclosure": getattr(case, "disclosure", None),
        "issued_by": issued_by,
        "issued_at": issued_at,
    }
    return render_to_string(f"disclosures/letters/{kind}.html", context)


@transaction.atomic
def issue_letter(actor, case: DisclosureCase, *, now=None) -> Letter:
    """Issue the outcome or non-disclosure letter; the case is then completed and locked."""
    locked = _lock(actor, case)
    _expect(locked, list(LETTER_FOR_STAGE), "issuing a letter (it follows the disclosure or the decision)")
    kind, now = LETTER_FOR_STAGE[Stage(locked.stage)], records.moment(now)
    letter = Letter(
        case=locked,
        kind=kind,
        addressee=letter_addressee(locked),
        body=render_letter(locked, kind, issued_by=actor, issued_at=now),
        issued_by=actor,
        issued_at=now,
    )
    letter.save()
    locked.stage, locked.completed_at = Stage.COMPLETED, now
    locked.save()
    audit.record(
        "disclosure_case.letter",
        locked,
        actor,
        data={
            "kind": kind,
            "letter": letter.pk,
            "body": audit.commitment(letter.body),
            "completed_at": now,
            "days": (now - locked.contact_at).days,
            "within_deadline": now <= locked.case_due_at,
        },
    )
    return letter


# --- Extensions ----------------------------------------------------------------------------------------------------


@transaction.atomic
def request_extension(actor, case: DisclosureCase, *, days: int, reason: str) -> Extension:
    """Ask for more time on the 45-day clock, with the reason; a supervisor decides."""
    locked = _lock(actor, case)
    if not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ValidationError({"days": f"An extension is 1 to {MAX_EXTENSION_DAYS} days."})
    reason = _need(reason, "reason", "An extension needs a reason.", MIN_TEXT)
    if locked.extensions.filter(state=ExtensionState.REQUESTED).exists():
        raise Conflict(f"{locked.reference} already has an extension awaiting a supervisor.")
    extension = Extension(case=locked, days=days, reason=reason, requested_by=actor)
    extension.save()
    audit.record(
        "disclosure_case.extension_requested",
        locked,
        actor,
        data={"extension": extension.pk, "days": days},
        reason=reason,
    )
    return extension


@transaction.atomic
def decide_extension(actor, extension: Extension, *, approve: bool, note: str = "") -> Extension:
    """A supervisor (not the requester, not the officer in charge) approves or refuses an extension."""
    extension = Extension.objects.select_for_update().select_related("case").get(pk=extension.pk)
    locked = _lock(actor, extension.case, action="disclosures.view_disclosurecase")
    policy.require(actor, "disclosures.decide_extension", extension)
    if extension.state != ExtensionState.REQUESTED:
        raise Conflict(f"This extension was already {extension.get_state_display().lower()}.")
    note = _text(note)
    if not approve and len(note) < MIN_TEXT:
        raise ValidationError({"note": "Say why the extension is refused."})
    extension.state = ExtensionState.APPROVED if approve else ExtensionState.REFUSED
    extension.decided_by, extension.decided_at, extension.decision_note = actor, timezone.now(), note
    extension.save()
    if approve:
        locked.extension_days += extension.days
        locked.case_due_at = clocks(locked.contact_at, locked.extension_days)["case_due_at"]
        locked.save()
    audit.record(
        "disclosure_case.extension_decided",
        locked,
        actor,
        data={
            "extension": extension.pk,
            "approved": bool(approve),
            "days": extension.days,
            "case_due_at": locked.case_due_at,
        },
        reason=note,
    )
    return extension


# Everything a case holds, before the case: each deleted with its history, so no past version of a name survives.
_CASE_PARTS = (Letter, Extension, Disclosure, ForumDecision, Check, Child)


def cases_past_retention(cutoff):
    """Completed cases finished at or before the cutoff: what the retention sweep deletes."""
    return DisclosureCase.objects.filter(stage=Stage.COMPLETED, completed_at__lte=cutoff)


@transaction.atomic
def forget_case(case_id: int, *, cutoff, retention_hours: int) -> str | None:
    """Delete a completed case past retention with everything it holds and its history rows, with a receipt that
    commits to what was deleted without repeating it; its reference, or None if it is not (or no longer) due."""
    case = cases_past_retention(cutoff).select_for_update().filter(pk=case_id).first()
    if case is None:
        return None
    counts = {}
    # Rows first, then their history: deleting a tracked row writes one more history row, holding every field.
    for model in _CASE_PARTS:
        ids = list(model.objects.filter(case=case).values_list("pk", flat=True))
        counts[model._meta.model_name] = model.objects.filter(pk__in=ids).delete()[0]
        model.history.filter(id__in=ids).delete()
    DisclosureCase.objects.filter(pk=case.pk).delete()
    DisclosureCase.history.filter(id=case.pk).delete()
    audit.record(
        "disclosure_case.deleted",
        ("disclosures.disclosurecase", case_id),
        None,
        data={
            "reference": case.reference,
            "commitment": _personal(case),
            "deleted": counts,
            "retention_hours": retention_hours,
        },
    )
    return case.reference
