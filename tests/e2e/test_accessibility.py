"""Every page of every demo role, in a real browser: axe-core finds no serious or critical violation, and at a
phone's 375 px no page scrolls sideways (a wide table scrolls in its own box). Issue 23, item 5.

The pages are those the crawler finds for the role (tests/pages/crawl.py: every link it is shown, behind a reason
where the page asks for one). axe-core is the copy scripts/vendor_static.sh vendors, pinned by SHA-256; it runs
through the DevTools protocol (`page.evaluate`), so the pages keep Govern's Content-Security-Policy as they are.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from apps.accounts.management.commands.seed_demo import DEMO_ACCOUNTS
from apps.accounts.models import User
from tests.e2e.conftest import sign_in
from tests.pages.crawl import REASON, crawl

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "accessibility-test-password"
AXE = Path(settings.BASE_DIR) / "govern" / "static" / "vendor" / "axe.min.js"
PHONE = {"width": 375, "height": 740}
# Not Govern's pages: Django's own admin site and the Swagger UI that documents the API come as their projects ship
# them. The crawler still holds their links; these tests hold Govern's templates.
THIRD_PARTY = ("/admin/", "/api/")


@pytest.fixture
def seeded(transactional_db, tmp_path):
    call_command("seed_demo", password=PASSWORD, force=True, credentials_file=tmp_path / "creds.txt")
    from apps.audit import services

    services.sign_checkpoint()


def _pages(username) -> list[str]:
    """The role's pages: what the crawler reaches that answers an HTML page."""
    client = Client()
    client.force_login(User.objects.get(username=username))
    found = crawl(client)
    return sorted(
        url
        for url, (status, _from, html) in found.items()
        if status == 200 and html and not url.startswith(THIRD_PARTY)
    )


def _open(page, url):
    """Load a page; where it asks why first, give the reason, as the crawler did."""
    response = page.goto(url)
    if page.locator('form[action="/audit/consult/"]').count():
        page.fill('form[action="/audit/consult/"] input[name=reason]', REASON)
        page.click('form[action="/audit/consult/"] button[type=submit]')
        page.wait_for_load_state()
    return response


def _violations(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
             .filter(v => v.impact === "serious" || v.impact === "critical")
             .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")}`)"""
    )
    return found


@pytest.mark.parametrize("username", [account[0] for account in DEMO_ACCOUNTS])
def test_every_page_of_the_role_passes_axe_and_fits_a_phone(live_server, browser, seeded, username):
    pages = _pages(username)
    assert len(pages) > 3, pages
    desktop = browser.new_page(viewport={"width": 1280, "height": 900})
    phone = browser.new_page(viewport=PHONE)
    for tab in (desktop, phone):
        sign_in(tab, live_server.url, username, PASSWORD)
    problems = {}
    for url in pages:
        response = _open(desktop, f"{live_server.url}{url}")
        assert response.status < 400, (url, response.status)
        for violation in _violations(desktop):
            problems.setdefault(url, []).append(violation)
        _open(phone, f"{live_server.url}{url}")
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            problems.setdefault(url, []).append(f"scrolls sideways at 375 px: {width} px wide")
    assert not problems, "\n".join(f"{url}: {found}" for url, found in problems.items())


def test_the_equality_chart_is_drawn_whole_in_its_own_scroller_on_a_phone(live_server, browser, seeded):
    """The page-wide check above cannot see a chart cut off at the screen's edge (a clipped drawing does not widen the
    page): on a phone the equality page's charts, drawn from the demo's judged alerts, keep their full width inside
    a scroller of their own that the keyboard reaches, and the page itself still does not scroll sideways."""
    phone = browser.new_page(viewport=PHONE)
    sign_in(phone, live_server.url, "oversight", PASSWORD)
    _open(phone, f"{live_server.url}/oversight/equality/")
    charts = phone.locator("svg.chart")
    assert charts.count() > 0, "the demo's judged alerts draw no chart"
    for index in range(charts.count()):
        drawn = charts.nth(index).evaluate(
            """svg => ({width: svg.getBoundingClientRect().width, wanted: svg.width.baseVal.value,
                        scroller: svg.parentElement.scrollWidth, shown: svg.parentElement.clientWidth,
                        tabindex: svg.parentElement.getAttribute("tabindex"), name: svg.parentElement.ariaLabel})"""
        )
        assert drawn["width"] >= drawn["wanted"] > PHONE["width"], drawn  # drawn whole, not cut to the screen
        assert drawn["scroller"] >= drawn["wanted"] and drawn["shown"] <= PHONE["width"], drawn
        assert drawn["tabindex"] == "0" and "False-alert rate" in (drawn["name"] or ""), drawn
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
