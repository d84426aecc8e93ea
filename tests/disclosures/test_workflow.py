"""Sarah's Law cases: the clocks, the guarded stages, the undertaking, the lock on completion, the log."""

import datetime
import functools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import Event
from apps.audit.verification import verify
from apps.disclosures import services
from apps.disclosures.choices import CheckKind, Decision, ExtensionState, Forum, LetterKind, Stage
from apps.disclosures.models import DisclosureCase
from govern.errors import Conflict

from .conftest import LONDON, assessed, checked, decided, right_to_ask, undertaking

pytestmark = pytest.mark.django_db


def _local(moment):
    return moment.astimezone(LONDON).replace(tzinfo=None)


def test_deadlines_are_24_hours_10_days_and_45_days_from_contact_by_the_london_calendar(unit):
    # 20 March 2026, 10:00 GMT; the clocks go forward on 29 March, and the days still end at 10:00 local time.
    case = right_to_ask(unit.pc, contact_at=datetime.datetime(2026, 3, 20, 10, 0, tzinfo=LONDON))
    assert _local(case.checks_due_at) == datetime.datetime(2026, 3, 21, 10, 0)
    assert _local(case.meeting_due_at) == datetime.datetime(2026, 3, 30, 10, 0)
    assert _local(case.case_due_at) == datetime.datetime(2026, 5, 4, 10, 0)
    assert [d.name for d in case.deadlines()] == ["checks", "meeting", "case"]


def test_overdue_cases_are_flagged_and_the_next_deadline_moves_on(unit):
    now = datetime.datetime.now(LONDON)
    late = right_to_ask(unit.pc, contact_at=now - datetime.timedelta(hours=30))
    fresh = right_to_ask(unit.pc, contact_at=now - datetime.timedelta(hours=2))
    assert late.overdue() and not fresh.overdue()
    assert list(DisclosureCase.objects.overdue()) == [late]
    ordered = list(DisclosureCase.objects.with_clocks().order_by("next_due"))
    assert ordered == [late, fresh] and ordered[0].is_overdue and not ordered[1].is_overdue
    checked(unit.pc, late)
    late.refresh_from_db()
    assert late.next_deadline().name == "meeting" and not late.overdue()
    assert not DisclosureCase.objects.overdue().exists()


def test_the_whole_case_clock_and_an_approved_extension(unit):
    contact = datetime.datetime.now(LONDON) - datetime.timedelta(days=46)
    case = right_to_ask(unit.pc, contact_at=contact)
    checked(unit.pc, case)
    services.record_meeting(
        unit.pc, case, identity_verified_with="Driving licence", met_at=contact + datetime.timedelta(days=3)
    )
    case.refresh_from_db()
    assert case.overdue() and case.next_deadline().name == "case"
    assert DisclosureCase.objects.overdue().get() == case
    extension = services.request_extension(
        unit.pc, case, days=14, reason="Partner agency records awaited from another force"
    )
    services.decide_extension(unit.sergeant, extension, approve=True)
    case.refresh_from_db()
    assert case.extension_days == 14 and not case.overdue()
    assert _local(case.case_due_at) == _local(contact + datetime.timedelta(days=45 + 14))
    assert not DisclosureCase.objects.overdue().exists()


def test_an_extension_needs_a_reason_and_a_supervisor_who_did_not_ask_for_it(unit, actors):
    case = right_to_ask(unit.pc)
    with pytest.raises(ValidationError):
        services.request_extension(unit.pc, case, days=10, reason="")
    extension = services.request_extension(unit.pc, case, days=10, reason="Awaiting records from another force")
    for refused in (unit.pc, unit.pc2, actors.officer, actors.privacy, actors.commander):
        with pytest.raises(PermissionDenied):
            services.decide_extension(refused, extension, approve=True)
    extension.refresh_from_db()
    case.refresh_from_db()
    assert extension.state == ExtensionState.REQUESTED and case.extension_days == 0
    own = right_to_ask(unit.sergeant)
    asked = services.request_extension(unit.sergeant, own, days=5, reason="Waiting for the forum's next sitting")
    with pytest.raises(PermissionDenied, match="another supervisor"):
        services.decide_extension(unit.sergeant, asked, approve=True)
    services.decide_extension(unit.sergeant2, asked, approve=True)
    with pytest.raises(Conflict):
        services.decide_extension(unit.sergeant2, asked, approve=False, note="Changed my mind about it")
    services.decide_extension(unit.sergeant, extension, approve=False, note="Chase the other force today instead")
    case.refresh_from_db()
    assert case.extension_days == 0


def test_no_disclosure_before_the_forum_decides(unit):
    case = right_to_ask(unit.pc)
    for step in (lambda: checked(unit.pc, case), lambda: None):
        with pytest.raises(Conflict, match="no disclosure without a forum decision"):
            services.record_disclosure(unit.pc, case, content="Told her about the convictions", in_person=True)
        with pytest.raises(Conflict):
            undertaking(unit.pc, case)
        step()
    assessed_case = right_to_ask(unit.pc)
    assessed(unit.pc, assessed_case)
    with pytest.raises(Conflict, match="no disclosure without a forum decision"):
        services.record_disclosure(unit.pc, assessed_case, content="Told her about the convictions", in_person=True)
    assessed_case.refresh_from_db()
    assert assessed_case.stage == Stage.ASSESSED and not hasattr(assessed_case, "disclosure")
    assert not Event.objects.filter(action="disclosure_case.disclosed").exists()


def test_a_disclosure_follows_the_signed_undertaking_and_the_letter_locks_the_case(unit):
    case = right_to_ask(unit.pc)
    decided(unit.pc, case)
    case.refresh_from_db()
    assert case.stage == Stage.TO_DISCLOSE
    with pytest.raises(Conflict, match="undertaking comes first"):
        services.record_disclosure(unit.pc, case, content="Told her about the convictions", in_person=True)
    with pytest.raises(ValidationError, match="legal warning"):
        services.record_undertaking(
            unit.pc,
            case,
            recipient_name="Jane Applicant",
            recipient_relationship="Mother",
            recipient_is_applicant=True,
            warning_given=False,
            signed=True,
        )
    undertaking(unit.pc, case, signed=True)
    with pytest.raises(ValidationError, match="in person"):
        services.record_disclosure(unit.pc, case, content="Told her on the phone", in_person=False)
    disclosure = services.record_disclosure(
        unit.pc, case, content="Told her of the 2011 and 2015 convictions for offences against children", in_person=True
    )
    assert disclosure.disclosed_by == unit.pc
    letter = services.issue_letter(unit.pc, case)
    case.refresh_from_db()
    assert case.stage == Stage.COMPLETED and case.completed_at is not None
    assert letter.kind == LetterKind.DISCLOSURE_OUTCOME and "Dear Jane Applicant" in letter.body
    assert "signed an undertaking" in letter.body


def test_a_refused_undertaking_returns_the_case_to_the_forum_which_may_disclose_anyway(unit):
    case = right_to_ask(unit.pc)
    decided(unit.pc, case)
    undertaking(unit.pc, case, signed=False)
    case.refresh_from_db()
    assert case.stage == Stage.RETURNED
    with pytest.raises(Conflict):
        services.record_disclosure(unit.pc, case, content="Told her anyway, straight away", in_person=True)
    again = services.record_forum_decision(
        unit.sergeant,
        case,
        forum=Forum.LOCAL,
        attendees="DI Grant (chair)\nChildren's services",
        decision=Decision.DISCLOSE,
        rationale="Refusal to sign does not outweigh the risk to the two children; disclose anyway.",
        necessary_and_proportionate=True,
    )
    assert again.after_refusal
    case.refresh_from_db()
    assert case.stage == Stage.READY
    services.record_disclosure(
        unit.pc, case, content="Told her of the convictions without an undertaking", in_person=True
    )
    letter = services.issue_letter(unit.pc, case)
    assert "did not sign" in letter.body


def test_a_non_disclosure_ends_with_its_letter(unit):
    case = right_to_ask(unit.pc)
    assessed(unit.pc, case)
    local_forum = functools.partial(
        services.record_forum_decision, unit.pc, case, forum=Forum.LOCAL, attendees="DI Grant"
    )
    with pytest.raises(ValidationError, match="presumed"):
        local_forum(decision=Decision.NOT_DISCLOSE, rationale="Not needed here.")
    with pytest.raises(ValidationError, match="necessary and proportionate"):
        local_forum(decision=Decision.DISCLOSE, rationale="Disclose it now.")
    local_forum(
        decision=Decision.NOT_DISCLOSE,
        rationale="The subject has left the household and is in custody until 2030; the mother knows the history.",
    )
    letter = services.issue_letter(unit.pc, case)
    assert letter.kind == LetterKind.NON_DISCLOSURE and "does not mean that there is no risk" in letter.body


def test_a_completed_case_is_read_only(unit):
    case = right_to_ask(unit.pc)
    decided(unit.pc, case, decision=Decision.DISCLOSE)
    undertaking(unit.pc, case)
    services.record_disclosure(unit.pc, case, content="Told her of the convictions in person", in_person=True)
    services.issue_letter(unit.pc, case)
    events = Event.objects.count()
    changes = [
        lambda: services.add_child(unit.pc, case, name="B."),
        lambda: services.record_check(unit.pc, case, kind=CheckKind.LOCAL_SYSTEMS, result="Nothing further"),
        lambda: services.request_extension(unit.pc, case, days=5, reason="More time for the paperwork"),
        lambda: services.record_disclosure(unit.pc, case, content="Told her again, in person", in_person=True),
        lambda: services.issue_letter(unit.pc, case),
        lambda: services.complete_checks(unit.pc, case),
    ]
    for change in changes:
        with pytest.raises(Conflict, match="completed and locked"):
            change()
    assert Event.objects.count() == events


def test_immediate_risk_goes_to_safeguarding_and_is_recorded(unit):
    with pytest.raises(ValidationError, match="immediate risk"):
        right_to_ask(unit.pc, immediate_risk=True)
    case = right_to_ask(
        unit.pc,
        immediate_risk=True,
        safeguarding_action="Referred to children's services duty team at 14:10, strategy meeting",
    )
    assert Event.objects.filter(action="disclosure_case.safeguarding", target_id=str(case.pk)).count() == 1


def test_only_the_unit_works_cases_and_privacy_officers_never_change_them(unit, actors):
    for outsider in (actors.officer, actors.privacy, actors.commander, actors.compiler, actors.outsider):
        with pytest.raises(PermissionDenied):
            right_to_ask(outsider)
    case = right_to_ask(unit.pc)
    for outsider in (actors.officer, actors.privacy):
        with pytest.raises(PermissionDenied):
            services.record_check(outsider, case, kind=CheckKind.NATIONAL_SYSTEMS, result="Nothing held")
    with pytest.raises(ValidationError, match="officer in charge"):
        right_to_ask(unit.pc, officer_in_charge=actors.officer)
    with pytest.raises(ValidationError, match="Name the child"):
        right_to_ask(unit.pc, children=[])


def test_every_change_is_logged_and_personal_data_only_as_commitments(unit):
    case = right_to_ask(unit.pc)
    decided(unit.pc, case)
    undertaking(unit.pc, case)
    services.record_disclosure(unit.pc, case, content="Told her of the convictions in person", in_person=True)
    services.issue_letter(unit.pc, case)
    actions = list(
        Event.objects.filter(target_id=str(case.pk), target_type="disclosures.disclosurecase").values_list(
            "action", flat=True
        )
    )
    for expected in (
        "disclosure_case.open",
        "disclosure_case.check",
        "disclosure_case.checks_complete",
        "disclosure_case.meeting",
        "disclosure_case.risk_assessment",
        "disclosure_case.forum_decision",
        "disclosure_case.undertaking",
        "disclosure_case.disclosed",
        "disclosure_case.letter",
    ):
        assert expected in actions
    text = " ".join(Event.objects.values_list("canonical", flat=True))
    for personal in ("Jane Applicant", "John Subject", "07700", "Passport", "convictions in person", "ViSOR record"):
        assert personal not in text
    assert case.history.count() >= 8
    assert verify().ok
