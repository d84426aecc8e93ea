"""Compiler → submit → commander → approve, on the real pages in a real browser."""

import datetime

import pytest
from django.utils import timezone

from apps.accounts.services import accounts
from apps.watchlists.choices import LegalBasis, WatchlistState
from apps.watchlists.demo import synthetic_portrait
from apps.watchlists.models import Watchlist
from apps.watchlists.services import custody, watchlists
from govern.roles import Rank, Role

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "browser-test-password"


@pytest.fixture
def people(transactional_db):
    compiler = accounts.create_user(None, "analyst", PASSWORD, roles=[Role.WATCHLIST_COMPILER])
    accounts.create_user(None, "supt", PASSWORD, roles=[Role.AUTHORISING_OFFICER], rank=Rank.SUPERINTENDENT)
    subject = custody.create_subject(compiler, family_name="Example", given_names="Adam",
                                      date_of_birth=datetime.date(1990, 5, 17), pnc_id="90/123456A")  # fmt: skip
    custody.upload_image(compiler, subject, synthetic_portrait(0), captured_on=datetime.date(2026, 3, 1),
                          source_system="Custody suite A", legal_basis=LegalBasis.PACE_CUSTODY)  # fmt: skip


def test_compiler_submits_and_a_superintendent_approves(live_server, browser, people, screenshots):
    base = live_server.url
    start = timezone.localtime() + datetime.timedelta(hours=2)
    page = browser.new_page()
    sign_in(page, base, "analyst", PASSWORD)
    page.click("text=Watchlists")
    page.click("text=New watchlist")
    page.fill("#id_purpose", "LFR at Oxford Circus, Saturday evening: people wanted by the courts")
    page.fill("#id_intended_start", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_intended_end", (start + datetime.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"))
    page.click("main button[type=submit]")
    page.fill("#id_reason", "Compiling the list for Saturday")
    page.click("main button[type=submit]")
    assert page.locator("#state").inner_text() == "Draft"

    page.click("text=Add a person")
    page.fill("#q", "example")
    page.click("form.filters button")
    page.check("input[name=pick]")
    page.select_option("#id_category", "wanted_by_courts")
    page.fill("#id_justification", "Warrant issued by Westminster Magistrates' Court for failing to appear.")
    page.click("#add-entry")
    assert "EXAMPLE, Adam" in page.locator("table.entries").inner_text()
    page.click("#submit-for-approval")
    assert page.locator("#state").inner_text() == "Submitted for approval"
    assert page.locator("#review-link").count() == 0  # the compiler is offered no decision
    page.click("text=Sign out")

    sign_in(page, base, "supt", PASSWORD)
    page.click("text=Approval queue")
    page.click("#approval-queue a")
    page.fill("#id_reason", "Reviewing for authorisation")
    page.click("main button[type=submit]")
    watchlist = Watchlist.objects.get()
    assert page.locator("#content-hash").inner_text() == watchlists.open_review(watchlist).content_hash
    assert "Added: EXAMPLE, Adam" in page.locator("ul.changes").inner_text()
    page.wait_for_function("document.querySelector('article.entry img').naturalWidth > 0")  # the image is shown
    page.screenshot(path=str(screenshots / "watchlist-review.png"), full_page=True)
    page.check("#id_decision_0")  # approve: nothing is chosen until the commander chooses
    page.click("#decide")
    page.click("#confirm")  # the confirmation says what approving does, and carries the hash reviewed
    assert page.locator("#state").inner_text() == "Approved"
    watchlist.refresh_from_db()
    assert watchlist.state == WatchlistState.APPROVED and watchlist.approved_by.username == "supt"
    page.screenshot(path=str(screenshots / "watchlist-approved.png"), full_page=True)
