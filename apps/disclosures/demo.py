"""Synthetic Sarah's Law cases, one at each stage and one overdue, worked by two demo officers of the unit.

Everything is invented and says so: the references start DEMO-, every name is "SYNTHETIC ...". The unit's demo
accounts (a constable and a sergeant who supervises) are seed_demo's own (DEMO_ACCOUNTS), made before any app's
demo runs, with their passwords in its credentials file. Idempotent: a case whose reference exists is left alone.
"""

import datetime

from django.core.management import CommandError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User

from . import permissions, services
from .choices import CheckKind, ContactMethod, Decision, Forum, RiskLevel, Route
from .models import DisclosureCase

MARK = "SYNTHETIC"
UNIT_ACCOUNTS = ("ppu", "ppu-sergeant")  # seed_demo's case worker and supervisor


def _accounts(stdout) -> tuple[User, User]:
    """The unit's demo case worker and supervisor."""
    worker, supervisor = (User.objects.filter(username=name).first() for name in UNIT_ACCOUNTS)
    if worker is None or supervisor is None or not permissions.is_supervisor(supervisor):
        raise CommandError("The unit's demo accounts (ppu, ppu-sergeant) are missing: run seed_demo, which makes them.")
    return worker, supervisor


def _open(officer, number: int, now, *, days_ago: float, route=Route.RIGHT_TO_ASK) -> DisclosureCase:
    fields = {
        "route": route,
        "contact_method": ContactMethod.TELEPHONE if route == Route.RIGHT_TO_ASK else ContactMethod.POLICE_INFORMATION,
        "contact_at": now - datetime.timedelta(days=days_ago),
        "subject_name": f"{MARK} subject {number}",
        "subject_relationship": "New partner of the child's mother",
        "household": f"{MARK}: mother, the child and a younger sibling; the subject stays most nights.",
        "children": [{"name": f"{MARK} child {number}", "carer_name": f"{MARK} parent {number}", "carer_knows": "yes"}],
    }
    if route == Route.RIGHT_TO_ASK:
        fields.update(
            applicant_name=f"{MARK} applicant {number}",
            applicant_relationship="Mother",
            applicant_safe_contact=f"{MARK}: mobile 07700 900{number:03d}, weekday evenings only",
        )
    return services.open_case(officer, reference=f"DEMO-CSODS-{number:02d}", now=now, **fields)


def _checked(officer, case):
    services.record_check(
        officer, case, kind=CheckKind.NATIONAL_SYSTEMS, result=f"{MARK}: PNC shows invented convictions"
    )
    services.record_check(officer, case, kind=CheckKind.SEX_OFFENDER_REGISTER, result=f"{MARK}: registered (invented)")
    services.complete_checks(officer, case)


def _met(officer, case):
    _checked(officer, case)
    services.record_meeting(officer, case, identity_verified_with=f"{MARK} passport", notes=f"{MARK} meeting")


def _assessed(officer, case):
    _met(officer, case) if case.route == Route.RIGHT_TO_ASK else _checked(officer, case)
    services.record_risk_assessment(
        officer,
        case,
        risk_level=RiskLevel.HIGH,
        assessment=f"{MARK}: invented assessment; unsupervised access to two children.",
        has_child_sexual_offence_convictions=True,
    )


def _decided(officer, case, decision=Decision.DISCLOSE):
    _assessed(officer, case)
    rationale = (
        f"{MARK}: presumption to disclose applies; necessary and proportionate to protect the children."
        if decision == Decision.DISCLOSE
        else f"{MARK}: the subject has left the area and is in custody; the mother already knows the history."
    )
    services.record_forum_decision(
        officer,
        case,
        forum=Forum.MULTI_AGENCY,
        attendees=f"{MARK} police chair\n{MARK} children's services\n{MARK} probation",
        decision=decision,
        rationale=rationale,
        necessary_and_proportionate=decision == Decision.DISCLOSE,
    )


def _undertaking(officer, case, signed=True):
    _decided(officer, case)
    services.record_undertaking(
        officer,
        case,
        recipient_name=case.applicant_name,
        recipient_relationship="Mother",
        recipient_is_applicant=True,
        warning_given=True,
        signed=signed,
    )


def _disclosed(officer, case):
    _undertaking(officer, case)
    services.record_disclosure(officer, case, content=f"{MARK}: told her of the invented convictions.", in_person=True)


# number, days since contact, route, what to do: each stage once, and case 2 overdue (checks not done in 24 hours).
PLAN = [
    (1, 0.1, Route.RIGHT_TO_ASK, None),
    (2, 3, Route.RIGHT_TO_ASK, None),
    (3, 2, Route.RIGHT_TO_ASK, _checked),
    (4, 5, Route.RIGHT_TO_ASK, _met),
    (5, 9, Route.RIGHT_TO_ASK, _assessed),
    (6, 14, Route.RIGHT_TO_ASK, _decided),
    (7, 16, Route.RIGHT_TO_ASK, lambda officer, case: _undertaking(officer, case, signed=False)),
    (8, 18, Route.RIGHT_TO_ASK, _undertaking),
    (9, 20, Route.RIGHT_TO_ASK, _disclosed),
    (10, 21, Route.RIGHT_TO_ASK, lambda officer, case: _decided(officer, case, Decision.NOT_DISCLOSE)),
    (
        11,
        30,
        Route.RIGHT_TO_ASK,
        lambda officer, case: (_disclosed(officer, case), services.issue_letter(officer, case)),
    ),
    (
        12,
        35,
        Route.RIGHT_TO_ASK,
        lambda officer, case: (
            _decided(officer, case, Decision.NOT_DISCLOSE),
            services.issue_letter(officer, case),
        ),
    ),
    (13, 1, Route.RIGHT_TO_BE_TOLD, _checked),
]


def seed(stdout) -> None:
    """Make the unit's demo accounts and a synthetic case at each stage, one of them overdue."""
    now = timezone.now()
    with transaction.atomic():
        officer, _supervisor = _accounts(stdout)
        made = 0
        for number, days_ago, route, then in PLAN:
            if DisclosureCase.objects.filter(reference=f"DEMO-CSODS-{number:02d}").exists():
                continue
            case = _open(officer, number, now, days_ago=days_ago, route=route)
            if then is not None:
                then(officer, case)
            if number == 5:
                services.request_extension(
                    officer, case, days=14, reason=f"{MARK}: partner agency records awaited from another force."
                )
            made += 1
    demo_cases = DisclosureCase.objects.filter(reference__startswith="DEMO-")
    stdout.write(
        f"Synthetic Sarah's Law cases: {made} made, {demo_cases.count()} in all, "
        f"{demo_cases.overdue().count()} overdue."
        f" Unit officers: {officer.get_username()}, {_supervisor.get_username()} (supervisor)."
    )
