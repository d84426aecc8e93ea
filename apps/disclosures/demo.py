"""Synthetic Sarah's Law cases, one at each stage and one overdue, worked by two demo officers of the unit.

Everything is invented and says so: the references start DEMO-, every name is "SYNTHETIC ...". The unit's demo
accounts (a constable and a sergeant who supervises) are made through the accounts services when missing, and their
passwords are kept in the same credentials file as the other demo accounts; officers of the unit that already
exist (e.g. listed in seed_demo's DEMO_ACCOUNTS) are used instead. Idempotent: a case whose reference exists is
left alone.
"""

import base64
import datetime
import hashlib
import hmac
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts import services as accounts
from apps.accounts.choices import Rank, Role
from apps.accounts.models import User

from . import permissions, services
from .choices import CheckKind, ContactMethod, Decision, Forum, RiskLevel, Route, public_protection_unit
from .models import DisclosureCase

MARK = "SYNTHETIC"
FORCE = "Demo Constabulary"
# username, first name, last name, rank: a case worker and a supervisor of the unit.
UNIT_ACCOUNTS = [("ppu", "Dana", "Hale", Rank.CONSTABLE), ("ppu-sergeant", "Lee", "Cole", Rank.SERGEANT)]


def credentials_file() -> Path:
    """Where seed_demo keeps the demo passwords by default."""
    return Path(settings.VAR_DIR) / "demo-credentials.txt"


def _password(username: str, stored: dict[str, str]) -> str:
    """The file's password; else the one password seed_demo was given for all; else one derived from the secret.

    seed_demo rewrites the file with its own accounts only, so a derived password keeps ours the same run to run.
    """
    if username in stored:
        return stored[username]
    shared = set(stored.values())
    if len(stored) > 1 and len(shared) == 1:
        return shared.pop()
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo-password:{username}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)[:16].decode()


def _unit_officer(supervisor: bool) -> User | None:
    """An active officer of the unit, a supervisor or not, if the force already has one."""
    found = User.objects.filter(is_active=True, unit__iexact=public_protection_unit()).order_by("pk")
    return next(
        (u for u in found if permissions.is_case_worker(u) and permissions.is_supervisor(u) == supervisor), None
    )


def _accounts(stdout) -> tuple[User, User]:
    """The unit's case worker and supervisor: existing ones, or demo accounts made through the accounts services."""
    from apps.accounts.management.commands.seed_demo import _read_credentials, _write_credentials

    path = credentials_file()
    stored = _read_credentials(path)
    made, found = {}, []
    for (username, first, last, rank), supervisor in zip(UNIT_ACCOUNTS, (False, True), strict=True):
        user = User.objects.filter(username=username).first() or _unit_officer(supervisor)
        if user is None:
            password = made[username] = _password(username, stored)
            profile = {"first_name": first, "last_name": last, "rank": rank, "force": FORCE}
            profile["unit"] = public_protection_unit()
            user = accounts.create_user(None, username, password, roles=[Role.OFFICER], reason="demo data", **profile)
        elif user.get_username() == username and username not in stored:  # ours, dropped from the file by seed_demo
            password = made[username] = _password(username, stored)
            if not user.check_password(password):
                accounts.set_password(None, user, password, reason="demo data")
        found.append(user)
    if made:
        _write_credentials(path, {**stored, **made})
        for username, password in made.items():
            stdout.write(f"  {username:<12} {password:<20} Officer, {public_protection_unit()} (passwords in {path})")
    return found[0], found[1]


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
