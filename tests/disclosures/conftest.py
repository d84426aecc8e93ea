"""Fixtures of the disclosures tests: the unit's officers and a supervisor, and cases at each stage."""

import datetime
import zoneinfo

import pytest

from apps.disclosures import services
from apps.disclosures.choices import CheckKind, ContactMethod, Decision, Forum, RiskLevel, Route
from govern.roles import Rank, Role

LONDON = zoneinfo.ZoneInfo("Europe/London")
UNIT = "Public Protection Unit"
REASON = "Working the case as officer in charge"


@pytest.fixture
def unit(make_user):
    """Officers of the public protection unit: two constables and two sergeants (supervisors)."""

    class Unit:
        pc = make_user("ppu-pc", Role.OFFICER, rank=Rank.CONSTABLE, unit=UNIT, first_name="Dana", last_name="Hale")
        pc2 = make_user("ppu-pc2", Role.OFFICER, rank=Rank.CONSTABLE, unit=UNIT)
        sergeant = make_user("ppu-ps", Role.OFFICER, rank=Rank.SERGEANT, unit=UNIT, first_name="Lee", last_name="Cole")
        sergeant2 = make_user("ppu-ps2", Role.OFFICER, rank=Rank.SERGEANT, unit=UNIT)

    return Unit


def right_to_ask(actor, contact_at=None, **overrides):
    """A right-to-ask case as the applicant gives it at first contact."""
    fields = {
        "route": Route.RIGHT_TO_ASK,
        "contact_method": ContactMethod.IN_PERSON,
        "contact_at": contact_at or datetime.datetime.now(LONDON).replace(microsecond=0),
        "applicant_name": "Jane Applicant",
        "applicant_relationship": "Mother",
        "applicant_safe_contact": "Mobile 07700 900123, weekdays after 6pm; do not leave messages",
        "subject_name": "John Subject",
        "subject_relationship": "Mother's new partner",
        "household": "Mother, the child and her younger sibling; the subject stays most nights",
        "children": [
            {"name": "A.", "date_of_birth": datetime.date(2018, 4, 1), "carer_name": "Jane", "carer_knows": "yes"}
        ],
    }
    fields.update(overrides)
    return services.open_case(actor, **fields)


def checked(actor, case):
    services.record_check(actor, case, kind=CheckKind.NATIONAL_SYSTEMS, result="PNC: two convictions, 2011 and 2015")
    services.record_check(actor, case, kind=CheckKind.SEX_OFFENDER_REGISTER, result="Registered; ViSOR record held")
    return services.complete_checks(actor, case)


def assessed(actor, case):
    checked(actor, case)
    services.record_meeting(actor, case, identity_verified_with="Passport seen", notes="Met at the station")
    return services.record_risk_assessment(
        actor,
        case,
        risk_level=RiskLevel.HIGH,
        assessment="Convicted of offences against children; unsupervised access to two children at home.",
        has_child_sexual_offence_convictions=True,
    )


def decided(actor, case, decision=Decision.DISCLOSE):
    assessed(actor, case)
    return services.record_forum_decision(
        actor,
        case,
        forum=Forum.MULTI_AGENCY,
        attendees="DS Cole (police)\nChildren's services\nProbation",
        decision=decision,
        rationale="Presumption to disclose applies; necessary and proportionate to protect both children.",
        necessary_and_proportionate=decision == Decision.DISCLOSE,
    )


def undertaking(actor, case, signed=True):
    return services.record_undertaking(
        actor,
        case,
        recipient_name="Jane Applicant",
        recipient_relationship="Mother",
        recipient_is_applicant=True,
        warning_given=True,
        signed=signed,
    )


@pytest.fixture
def case(unit):
    return right_to_ask(unit.pc)
