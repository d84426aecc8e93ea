"""A retail partner submits a retrospective search on the real pages, sees its status only (never a candidate or an
identity), and is told of its daily allowance before it types a second search, in a real browser."""

import pytest

from apps.matching.choices import SearchState
from apps.matching.models import SearchRequest
from apps.matching.services import retrospective
from tests.matching_fixtures import astronaut_subject

from .conftest import CountedPage, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "correct-horse-battery-staple"
SEARCHES = "nav[aria-label=Menu] a[href='/matching/searches/']"


@pytest.fixture
def gallery_with_a_face(actors, astronaut, engine_approved):
    """The person in the still, enrolled from their custody image: the search has a candidate to keep from view."""
    subject, image = astronaut_subject(actors.compiler, astronaut)
    assert retrospective.enrol_custody_image(image.pk)
    return subject


def test_a_retail_partner_submits_a_search_sees_its_status_only_and_meets_its_allowance(
    transactional_db, live_server, browser, actors, gallery_with_a_face, astronaut, settings, tmp_path, screenshots
):
    settings.RFR_PARTNER_SEARCHES_PER_DAY = 1
    still = tmp_path / "till-camera.jpg"
    still.write_bytes(astronaut)
    page = browser.new_page()
    sign_in(page, live_server.url, "retail", PASSWORD)
    journey = CountedPage(page)

    journey.follow(SEARCHES)
    assert "0 of your 1 search in" in page.locator("#allowance").inner_text()
    journey.fill("#id_incident_reference", "Store 114 incident 2026-0412")
    journey.fill("#id_crime_type", "Theft from a shop")
    journey.fill("#id_sharing_agreement", "DSA-RETAIL-2026-07")
    journey.set_input_files("#id_stills", still)
    journey.follow("#search-form button[type=submit]")
    search = SearchRequest.objects.get()
    assert page.url.endswith(f"/matching/searches/{search.pk}/")
    assert search.submitted_by == actors.retail and search.sharing_agreement == "DSA-RETAIL-2026-07"
    page.wait_for_function("!['Queued', 'Searching'].includes(document.querySelector('#search-state').textContent)")
    search.refresh_from_db()
    assert search.state == SearchState.READY and search.probes.filter(state="searched").exists()  # it had candidates
    assert page.locator("#search-state").inner_text() == "Searched: the police are reviewing the results"
    shown = page.locator("main").inner_text()
    assert page.locator("#review-link").count() == 0 and "COLLINS" not in shown.upper() and "56/000001C" not in shown
    page.screenshot(path=str(screenshots / "retail-search-status.png"), full_page=True)

    journey.follow(SEARCHES)  # the next day's search: the page says at once that none is left, and when one will be
    allowance = page.locator("#allowance").inner_text()
    assert "1 search in the last 24 hours is this partner's limit: the next may be sent from" in allowance
    assert page.locator("#search-form").count() == 0  # nothing to type that would be refused
    assert "Searched: the police are reviewing the results" in page.locator("table.searches").inner_text()
    page.screenshot(path=str(screenshots / "retail-allowance.png"), full_page=True)
    assert SearchRequest.objects.count() == 1
    # Before: the allowance was learnt only by typing and sending a second search (clicks 6, typed 6).
    assert journey.counts == {"clicks": 4, "lists": 0, "typed": 3}
