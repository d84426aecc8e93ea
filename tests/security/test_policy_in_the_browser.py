"""In a real browser, the pages work under the Content Security Policy: no violation is reported and the Swagger UI
draws itself without inline scripts. (The watchlist form's script, now a static file, is driven by
tests/e2e/test_watchlist_approval.py.)"""

import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import browser, sign_in  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _watch_violations(page):
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.log("
        "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return violations


def test_pages_and_swagger_ui_run_under_the_policy(transactional_db, live_server, browser, actors):  # noqa: F811
    page = browser.new_page()
    violations = _watch_violations(page)
    sign_in(page, live_server.url, "privacy", PASSWORD)
    for path in ("/", "/oversight/", "/oversight/equality/", "/audit/events/", "/watchlists/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "script-src 'self';" in response.headers["content-security-policy"]
    docs = page.goto(f"{live_server.url}/api/docs/")
    assert docs.status == 200
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "Govern API" in page.locator(".swagger-ui .info .title").inner_text()
    assert not violations, violations
