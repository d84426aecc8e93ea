"""A person signs in through a real browser (Debian's Chromium driven by Playwright) and reads the audit log."""

import pytest
from django.core.management import call_command

from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "browser-test-password"


@pytest.fixture
def seeded(transactional_db, tmp_path):
    call_command("seed_demo", password=PASSWORD, force=True, credentials_file=tmp_path / "creds.txt")
    from apps.audit import services

    services.sign_checkpoint()


def test_privacy_officer_signs_in_reads_the_log_and_signs_out(live_server, browser, seeded, screenshots):
    page = browser.new_page()
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "privacy")
    page.fill("#id_password", "wrong password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text().startswith("Your username and password did not match")

    sign_in(page, live_server.url, "privacy", PASSWORD)  # with the two-factor code a privacy officer needs
    assert page.locator("section[data-role=privacy_officer] h2").inner_text() == "Privacy officer"
    page.screenshot(path=str(screenshots / "home-privacy-officer.png"), full_page=True)

    page.click("text=Audit log")
    page.wait_for_url("**/audit/events/")
    rows = page.locator("table.events tbody tr")
    assert rows.count() >= 3
    assert "account.login" in page.locator("table.events").inner_text()
    assert "account.login_failed" in page.locator("table.events").inner_text()
    page.select_option("#id_action", "account.login_failed")
    page.click("form.filters button")
    assert set(page.locator("table.events tbody td:nth-child(3)").all_inner_texts()) == {"account.login_failed"}
    page.screenshot(path=str(screenshots / "audit-log.png"), full_page=True)

    page.click("text=Sign out")
    page.wait_for_url("**/accounts/login/")


def test_an_officer_is_refused_the_audit_log(live_server, browser, seeded):
    page = browser.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "officer")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("section[data-role=officer]").count() == 1
    response = page.goto(f"{live_server.url}/audit/events/")
    assert response.status == 403
