"""Anyone, without an account, follows the public records from the sign-in page in a real browser: the deployments
announced, the completed ones, one deployment's report and its year's report with charts drawn on the server."""

import datetime

import pytest

from apps.deployments import services
from apps.deployments.models import PublishedFigures
from apps.matching.models import Alert
from tests.public_fixtures import plan_ahead

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def world(transactional_db, reported, actors, documents, now):
    """A deployment that ran and completed, its figures counted from its frames and judged alerts, and one announced
    for three days ahead."""
    upcoming = plan_ahead(actors.officer, documents, start=now + datetime.timedelta(days=3))
    services.publish_notice(actors.officer, upcoming, reference="Force website")
    return {"reported": reported, "upcoming": upcoming}


def test_anyone_follows_the_public_records_from_the_sign_in_page(live_server, browser, world, screenshots):
    reported, upcoming = world["reported"], world["upcoming"]
    page = browser.new_page()
    problems = []  # script errors, and anything the Content-Security-Policy refused

    def console(message):
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):  # Govern has none
            problems.append(f"{message.text} ({message.location.get('url')})")

    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", console)

    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.click("#public-records")
    page.wait_for_url(f"{live_server.url}/public/")
    row = page.locator(f"tr#{upcoming.reference}")
    assert "Upcoming" in row.inner_text() and "Stratford" in row.inner_text()
    assert "not yet compiled" in row.inner_text()
    assert page.locator("link[rel=alternate][type='application/atom+xml']").count() == 1
    page.screenshot(path=str(screenshots / "public-announced.png"), full_page=True)

    page.click("#completed-link")
    page.wait_for_url("**/public/deployments/")
    page.click(f"table.published a:text('{reported.reference}')")
    page.wait_for_url(f"**/public/deployments/{reported.reference}/")
    figures, counted = page.locator("#figures"), PublishedFigures.objects.get(deployment=reported)
    for field in ("faces_processed", "alerts", "true_alerts", "false_alerts", "engagements", "arrests"):
        assert figures.locator(f"tr[data-figure={field}] td").inner_text() == f"{getattr(counted, field):,}", field
    engine = Alert.objects.filter(deployment=reported).values_list("engine", flat=True).first()
    assert figures.locator("tr[data-figure=engine] td").inner_text() == engine
    page.screenshot(path=str(screenshots / "public-report.png"), full_page=True)

    page.click("text=the annual report for")
    page.wait_for_url("**/public/annual/*/")
    charts = page.locator("svg.chart")
    assert charts.count() == 4
    for index in range(4):
        assert charts.nth(index).evaluate("node => node.namespaceURI") == "http://www.w3.org/2000/svg"
        assert charts.nth(index).locator("rect").count() >= 1  # the month it ran has its column
    assert page.get_by_role("img", name="Faces processed by month").count() == 1  # each chart has a text name
    assert page.locator("script").count() == 0
    assert page.locator("#year-totals td").nth(1).inner_text() == f"{counted.faces_processed:,}"
    page.screenshot(path=str(screenshots / "public-annual.png"), full_page=True)

    page.click("#year-totals th a:text('Faces processed')")
    page.wait_for_url("**/public/method/#faces-processed")
    assert page.locator("section#faces-processed h2").is_visible()
    assert not problems, problems
