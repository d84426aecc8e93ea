"""An officer adjudicates an alert on the real page, in a real browser, and records the outcome."""

import pytest

from apps.deployments.models import PublishedFigures
from apps.matching.choices import AlertState
from apps.matching.models import Alert
from apps.matching.services import live_capture

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_officer_adjudicates_an_alert(transactional_db, live_server, browser, live, vans, astronaut, screenshots):
    live_capture.capture_frame(vans[0], astronaut)  # the enrolled face passes the van: an alert
    page = browser.new_page()
    sign_in(page, live_server.url, "officer", "correct-horse-battery-staple")
    assert page.locator("#uncalibrated-banner").count() == 1
    page.goto(f"{live_server.url}/deployments/{live.pk}/")
    page.click("#alerts-link")
    page.fill("#id_reason", "Adjudicating alerts at the van")
    page.click("main button[type=submit]")
    card = page.locator("article.alert")
    assert card.get_attribute("data-state") == "pending"
    page.wait_for_function("Array.from(document.querySelectorAll('article.alert img')).every(i => i.naturalWidth > 0)")
    page.screenshot(path=str(screenshots / "alert-pending.png"), full_page=True)
    page.fill("form.judge input[name=reason]", "Same face shape, scar and ears; spoke to the operator")
    page.select_option("form.judge select[name=perceived_sex]", "female")
    page.check("form.judge input[name=match][value=yes]")  # nothing is preselected
    page.click("form.judge button.judge")
    page.click("#confirm")  # the confirmation step says what the judgement does
    assert page.locator("article.alert").get_attribute("data-state") == "confirmed"
    page.click("button.engage")
    # The stop record: the outcome, how identity was checked, how long it took, and the person as perceived.
    page.select_option("form.outcome select[name=outcome]", "arrest")
    page.select_option("form.outcome select[name=identity_check]", "fingerprint")
    page.fill("form.outcome input[name=stop_minutes]", "12")
    page.select_option("form.outcome select[name=perceived_age]", "35_44")
    page.click("form.outcome button")
    assert page.locator("article.alert").get_attribute("data-state") == "closed"
    alert = Alert.objects.get()
    assert alert.state == AlertState.CLOSED and alert.outcome == "arrest"
    assert (alert.identity_check, alert.stop_minutes, alert.perceived_sex, alert.perceived_age) == (
        "fingerprint",
        12,
        "female",
        "35_44",
    )
    assert PublishedFigures.objects.get(deployment=live).arrests == 1


def test_the_queue_announces_a_new_alert_in_place(transactional_db, live_server, browser, live, vans, astronaut):
    """htmx polls the queue's numbers: a new alert is announced without a reload; showing it is a consultation."""
    live_capture.capture_frame(vans[0], astronaut)
    page = browser.new_page()
    sign_in(page, live_server.url, "officer", "correct-horse-battery-staple")
    page.goto(f"{live_server.url}/matching/deployments/{live.pk}/alerts/?reason=Adjudicating%20alerts%20at%20the%20van")
    assert page.locator("article.alert").count() == 1 and page.locator("#new-alerts").count() == 0
    page.wait_for_function("typeof window.htmx === 'object'")
    page.evaluate("window.sameDocument = true")

    live_capture.capture_frame(vans[0], astronaut)  # the face passes the van again

    page.wait_for_function("document.querySelector('#new-alerts') !== null", timeout=15_000)
    assert page.evaluate("window.sameDocument === true")
    assert page.locator("#new-alerts").inner_text().startswith("1 new alert")
    assert page.locator("#pending").inner_text() == "2"
    assert page.locator("article.alert").count() == 1  # the new alert's face is not shown until asked for
    page.click("#show-new-alerts")
    page.wait_for_function("document.querySelectorAll('article.alert').length === 2")
    assert Alert.objects.count() == 2
