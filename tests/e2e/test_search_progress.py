"""A retrospective search's page follows its batch in place (htmx), in a real browser under Govern's strict CSP."""

import pytest

from apps.matching.choices import SearchState
from apps.matching.services import retrospective
from apps.outbox import services as outbox

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_search_page_updates_its_progress_without_a_reload_and_stops_polling(
    transactional_db, live_server, browser, actors, astronaut, monkeypatch, screenshots, engine_approved
):
    monkeypatch.setattr(outbox, "_after_commit", lambda pk: None)  # the batch waits in the outbox until we send it
    search = retrospective.submit(actors.officer, [astronaut, astronaut], incident_reference="CAD 77/5DEC",
                                  crime_type="Robbery")  # fmt: skip
    page = browser.new_page()
    refused_by_policy = []
    page.on("console", lambda m: "Content Security Policy" in m.text and refused_by_policy.append(m.text))
    sign_in(page, live_server.url, "officer", "correct-horse-battery-staple")
    page.goto(f"{live_server.url}/matching/searches/{search.pk}/")
    status = page.locator("#search-status")
    assert status.get_attribute("hx-trigger") == "every 2s"
    assert page.locator("#search-state").inner_text() == SearchState.QUEUED.label
    assert page.locator("#review-link").count() == 0
    page.wait_for_function("typeof window.htmx === 'object'")
    page.evaluate("window.sameDocument = true")  # gone if the page were reloaded

    outbox.dispatch()  # the worker's turn: the batch runs (eagerly, in this process)

    page.wait_for_function(f"document.querySelector('#search-state').textContent === '{SearchState.READY.label}'",
                           timeout=20_000)  # fmt: skip
    assert page.evaluate("window.sameDocument === true"), "the page reloaded instead of updating in place"
    assert page.locator("#progress-text").inner_text() == "2 of 2 still(s) searched"
    assert page.locator("#review-link").count() == 1
    assert page.locator("#search-status").get_attribute("hx-trigger") is None  # finished: no more polling
    page.screenshot(path=str(screenshots / "search-progress-ready.png"), full_page=True)
    assert refused_by_policy == []
