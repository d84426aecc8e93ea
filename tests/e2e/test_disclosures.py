"""A right-to-ask case from first contact to a signed disclosure and its letter, on the real pages in a real browser."""

import pytest

from apps.accounts.services import accounts
from apps.audit.models import Event
from apps.disclosures.choices import Stage, UndertakingOutcome
from apps.disclosures.models import DisclosureCase
from govern.roles import Rank, Role

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "browser-test-password"
UNIT = "Public Protection Unit"


@pytest.fixture
def officer(transactional_db):
    return accounts.create_user(None, "ppu-pc", PASSWORD, roles=[Role.OFFICER], rank=Rank.CONSTABLE, unit=UNIT)


def _submit(page, form):
    _click(page, f"{form} button[type=submit]")


def _click(page, selector):
    with page.expect_navigation():
        page.click(selector)


def test_a_right_to_ask_case_from_contact_to_a_signed_disclosure(live_server, browser, officer, screenshots):
    base = live_server.url
    page = browser.new_page()
    sign_in(page, base, "ppu-pc", PASSWORD)
    page.goto(f"{base}/disclosures/")
    page.click("#open-case")
    page.select_option("#id_route", "right_to_ask")
    page.select_option("#id_contact_method", "in_person")
    page.fill("#id_applicant_name", "Jane Applicant")
    page.fill("#id_applicant_relationship", "Mother")
    page.fill("#id_applicant_safe_contact", "Mobile, weekday evenings only; no messages")
    page.fill("#id_subject_name", "John Subject")
    page.fill("#id_subject_relationship", "Mother's new partner")
    page.fill("#id_household", "Mother, the child and a younger sibling")
    page.fill("#id_child_name", "A.")
    page.select_option("#id_child_carer_knows", "yes")
    _submit(page, "#open-form")
    page.fill("#id_reason", "Opening the case as officer in charge")
    page.click("main button[type=submit]")
    assert page.locator("#stage").get_attribute("data-stage") == Stage.CONTACT
    assert page.locator("[data-deadline=checks] .due").inner_text()
    for kind, result in (("national_systems", "PNC: convictions 2011 and 2015"), ("sex_offender_register", "On ViSOR")):
        page.select_option("#check-form select[name=kind]", kind)
        page.fill("#check-form textarea[name=result]", result)
        _submit(page, "#check-form")
    _click(page, "#complete-checks")
    assert page.locator("#stage").get_attribute("data-stage") == Stage.CHECKED
    page.fill("#meeting-form input[name=identity_verified_with]", "Passport")
    _submit(page, "#meeting-form")
    page.select_option("#risk-form select[name=risk_level]", "high")
    page.fill("#risk-form textarea[name=assessment]", "Convictions against children; unsupervised access at home.")
    page.check("#risk-form input[name=has_child_sexual_offence_convictions]")
    _submit(page, "#risk-form")
    assert page.locator("#stage").get_attribute("data-stage") == Stage.ASSESSED
    _click(page, "#forum-link")
    page.select_option("#forum-form select[name=forum]", "multi_agency")
    page.fill("#forum-form textarea[name=attendees]", "DS Cole (police)\nChildren's services\nProbation")
    page.check("#forum-form input[name=decision][value=disclose]")
    page.fill("#forum-form textarea[name=rationale]", "Presumption to disclose; necessary and proportionate.")
    page.check("#forum-form input[name=necessary_and_proportionate]")
    _submit(page, "#forum-form")
    assert page.locator("#stage").get_attribute("data-stage") == Stage.TO_DISCLOSE
    _click(page, "#nav-disclosure")
    assert page.input_value("#undertaking-form input[name=recipient_name]") == "Jane Applicant"
    page.check("#undertaking-form input[name=warning_given]")
    page.check("#undertaking-form input[name=signed][value=yes]")
    _submit(page, "#undertaking-form")
    assert page.locator("#undertaking-outcome").inner_text() == "signed"
    page.fill(
        "#disclosure-form textarea[name=content]",
        "Told her of the 2011 and 2015 convictions for offences against children.",
    )
    _submit(page, "#disclosure-form")
    assert page.locator("#stage").get_attribute("data-stage") == Stage.DISCLOSED
    _click(page, "#nav-letter")
    _click(page, "#issue-letter")
    assert page.locator("#stage").get_attribute("data-stage") == Stage.COMPLETED
    assert page.locator("#locked").count() == 1 and "Dear Jane Applicant" in page.locator(".issued-letter").inner_text()
    page.screenshot(path=str(screenshots / "disclosure-completed.png"), full_page=True)
    case = DisclosureCase.objects.get()
    assert case.stage == Stage.COMPLETED and case.disclosure.undertaking == UndertakingOutcome.SIGNED
    assert case.disclosure.disclosed_by == officer and case.letters.count() == 1
    assert Event.objects.filter(action="record.consulted", target_id=str(case.pk)).count() >= 8


def test_an_officer_of_the_unit_opens_a_case_from_an_alert(
    transactional_db, live_server, browser, live, vans, astronaut, make_user
):
    from apps.deployments import services as deployments
    from apps.matching.services import live_capture
    from apps.watchlists.models import Subject

    officer = make_user("ppu-alert", Role.OFFICER, rank=Rank.CONSTABLE, unit=UNIT)
    deployments.set_team(live.planned_by, live, [*live.team.all(), officer], reason="Joins the van's shift")
    alert = live_capture.capture_frame(vans[0], astronaut).alerts[0]
    Subject.objects.update(registered_sex_offender=True)  # no service sets the flag yet: test setup
    page = browser.new_page()
    sign_in(page, live_server.url, "ppu-alert", "correct-horse-battery-staple")
    page.goto(f"{live_server.url}/matching/deployments/{live.pk}/alerts/?reason=Adjudicating+at+the+van")
    assert page.locator("button.open-disclosure-case").count() == 0  # not before a human judged the alert
    page.fill("form.judge input[name=reason]", "Same face shape, scar and ears; spoke to the operator")
    page.check("form.judge input[name=match][value=yes]")  # nothing is preselected
    _click(page, "form.judge button.judge")
    _click(page, "#confirm")  # the confirmation step says what the judgement does
    _click(page, "button.open-disclosure-case")
    page.fill("#id_reason", "Right to be told after an LFR alert")
    _click(page, "main button[type=submit]")
    case = DisclosureCase.objects.get()
    assert page.locator("#stage").get_attribute("data-stage") == Stage.CONTACT
    assert f"Alert {alert} at {live.reference}" in page.locator("main").inner_text()
    page.goto(f"{live_server.url}/matching/deployments/{live.pk}/alerts/")
    assert page.locator("a.disclosure-case-link").inner_text() == case.reference
