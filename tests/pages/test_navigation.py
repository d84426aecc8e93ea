"""The menu, the inbox and the search (issue 23, item 2), on the seeded demo, one account per role.

The menu is drawn from one registry whose entries carry the rule their view checks: for every role, an entry is
offered exactly when its page lets the role in. The inbox counts through the restricted querysets the lists use.
"""

import datetime
import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse

from apps.accounts.management.commands.seed_demo import DEMO_ACCOUNTS
from apps.accounts.models import User
from apps.audit.choices import CONSULTATION_ACTION
from apps.audit.models import Event
from apps.disclosures.models import DisclosureCase
from apps.matching.choices import AlertState
from apps.matching.models import Alert
from govern import navigation

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
USERNAMES = [account[0] for account in DEMO_ACCOUNTS]


@pytest.fixture
def demo(tmp_path):
    call_command("seed_demo", password="navigation-test-password", force=True, credentials_file=tmp_path / "c.txt")


def _as(client, username):
    client.force_login(User.objects.get(username=username))
    return User.objects.get(username=username)


def test_the_menu_offers_a_page_exactly_when_its_view_lets_the_role_in(demo, client):
    wrong = []
    for username in USERNAMES:
        user = _as(client, username)
        offered = navigation.offered(user)
        for entry in navigation.DESTINATIONS:
            status = client.get(entry.url).status_code
            if (entry in offered) != (status == 200):
                wrong.append(f"{username} {entry.url}: offered {entry in offered}, answered {status}")
    assert not wrong, "\n".join(wrong)


def test_no_role_is_offered_the_pages_the_old_home_page_linked_in_vain(demo, client):
    _as(client, "officer")  # a response-team constable: not of the public protection unit
    page = client.get("/").content.decode()
    assert 'href="/disclosures/"' not in page
    _as(client, "commander")
    page = client.get("/oversight/governance/").content.decode()
    for refused in ("/oversight/", "/oversight/access/", "/oversight/equality/", "/oversight/verify_bundle.py"):
        assert f'href="{refused}"' not in page, refused
    assert 'href="/oversight/retention/"' in page


def test_every_page_has_the_menu_the_skip_link_and_breadcrumbs(demo, client):
    _as(client, "compiler")
    page = client.get(reverse("watchlists:subjects")).content.decode()
    assert '<a href="#main-content" class="govuk-skip-link"' in page and 'id="main-content"' in page
    menu = page.split('<nav aria-label="Menu"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="([^"]+)"', menu) == ["/", "/watchlists/", "/watchlists/subjects/", "/deployments/"]
    assert 'aria-current="page"' in menu.split('href="/watchlists/subjects/"', 1)[1].split("</li>", 1)[0]
    crumbs = page.split('aria-label="Breadcrumb"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/"' in crumbs and "Subjects" in crumbs
    assert 'rel="icon" href="/static/govern/favicon.svg"' in page


def test_the_inbox_counts_only_what_each_role_may_list(demo, client):
    waiting = 0
    for username in USERNAMES:
        user = _as(client, username)
        home = client.get("/")
        assert home.status_code == 200
        assert b"Your queue appears here" not in home.content
        visible = (
            Alert.objects.restrict(user, "view")
            .filter(state=AlertState.PENDING)
            .values("deployment")
            .annotate(n=Count("id"))
        )
        assert sorted(row["waiting"] for row in home.context["alerts"]) == sorted(row["n"] for row in visible)
        waiting += home.context["alerts_waiting"]
        counts = {item["label"]: item["count"] for section in home.context["sections"] for item in section["items"]}
        if "Sarah's Law cases past a deadline" in counts:
            overdue = DisclosureCase.objects.restrict(user, "view").overdue().count()
            assert counts["Sarah's Law cases past a deadline"] == overdue
    assert waiting > 0  # the demo's live deployment has alerts: someone's inbox shows them
    _as(client, "commander")
    counts = {item["label"]: item for section in client.get("/").context["sections"] for item in section["items"]}
    queue = counts["Authorisation queue: deployments to authorise"]
    assert queue["url"] == "/deployments/?state=planned"
    _as(client, "ppu-sergeant")  # not on the live deployment's team: none of its alerts
    assert client.get("/").context["alerts"] == []


def test_the_search_finds_by_pnc_id_reference_and_name_and_is_logged_once(demo, client):
    _as(client, "compiler")
    before = Event.objects.filter(action=CONSULTATION_ACTION).count()
    page = client.post("/search/", {"q": "00/000101D"})  # from the header's box: no reason yet
    assert page.status_code == 200 and page.context["found"] is None
    assert Event.objects.filter(action=CONSULTATION_ACTION).count() == before
    page = client.post("/search/", {"q": "00/000101D", "reason": "Checking a name for a list"})
    assert [str(subject) for subject in page.context["found"]["subjects"]] == ["ASHDOWN, Daniel"]
    logged = Event.objects.filter(action=CONSULTATION_ACTION).order_by("-seq")
    assert logged.count() == before + 1
    assert (logged[0].target_type, logged[0].reason) == ("govern.search", "Checking a name for a list")
    assert "00/000101D" not in str(logged[0].data)  # the text is kept as a commitment, never in the clear
    page = client.post("/search/", {"q": "LFR-2026-0001", "reason": "Which deployment was that"})
    assert [d.reference for d in page.context["found"]["deployments"]] == ["LFR-2026-0001"]

    _as(client, "retail")  # reads its own searches only: no subject, no deployment
    page = client.post("/search/", {"q": "Ashdown", "reason": "Looking for our search"})
    assert set(page.context["found"]) == {"searches"}
    assert client.post("/search/", {"q": "a\x00b", "reason": "Looking for our search"}).status_code == 400
    assert client.post("/search/", {"q": "Ashdown", "reason": "no"}).status_code == 400
    _as(client, "admin")
    assert client.post("/search/", {"q": "Ashdown", "reason": "Looking for someone"}).status_code == 403
    assert b'id="site-search-q"' not in client.get("/").content


def test_the_month_calendar_starts_on_monday(demo, client):
    _as(client, "commander")
    page = client.get("/deployments/schedule/?view=month&date=2026-12-15").content.decode()
    first = datetime.date(2026, 12, 1)
    assert page.count('class="day blank"') == first.weekday() == 1  # 1 December 2026 is a Tuesday
    assert re.findall(r'<div class="weekday" aria-hidden="true">(\w+)</div>', page)[0] == "Mon"
    page = client.get("/deployments/schedule/?view=month&date=2026-06-15").content.decode()
    assert 'class="day blank"' not in page  # 1 June 2026 is a Monday


def test_the_alert_queue_announces_new_alerts_in_a_live_region(demo, client):
    _as(client, "officer")  # on the live deployment's team
    deployment = Alert.objects.filter(state=AlertState.PENDING).first().deployment
    client.post("/audit/consult/", {"next": f"/matching/deployments/{deployment.pk}/alerts/", "reason": "On duty"})
    page = client.get(f"/matching/deployments/{deployment.pk}/alerts/").content.decode()
    assert '<p id="alert-news" class="notice-live" role="status" aria-live="polite" aria-atomic="true"></p>' in page
    counts = f"/matching/deployments/{deployment.pk}/alerts/counts/"
    polled = client.get(f"{counts}?since=0&announced=0").content.decode()
    new = Alert.objects.restrict(User.objects.get(username="officer"), "view").filter(deployment=deployment).count()
    assert f'<div id="alert-news" hx-swap-oob="innerHTML">{new} new alert' in polled
    assert f"announced={new}" in polled  # the next poll says it again only if the count changes
    assert "alert-news" not in client.get(f"{counts}?since=0&announced={new}").content.decode()
    assert client.get(f"{counts}?since=0&announced=x").status_code == 400


def test_the_vendored_browser_libraries_are_the_pinned_ones():
    script = (Path(settings.BASE_DIR) / "scripts" / "vendor_static.sh").read_text()
    pins = dict(re.findall(r"^(\w+_SHA256)=([0-9a-f]{64})$", script, re.M))
    vendor = Path(settings.BASE_DIR) / "govern" / "static" / "vendor"
    files = {
        "HTMX_SHA256": "htmx.min.js",
        "GOVUK_FRONTEND_CSS_SHA256": "govuk-frontend/govuk-frontend.min.css",
        "GOVUK_FRONTEND_JS_SHA256": "govuk-frontend/govuk-frontend.min.js",
        "AXE_CORE_SHA256": "axe.min.js",
    }
    assert set(pins) == set(files)
    for pin, name in files.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == pins[pin], name


def test_a_deployments_reason_forms_each_have_their_own_label(demo, client):
    from apps.deployments.choices import DeploymentState
    from apps.deployments.models import Deployment

    _as(client, "commander")
    authorised = Deployment.objects.get(state=DeploymentState.AUTHORISED)
    page = client.get(reverse("deployments:detail", args=[authorised.pk])).content.decode()
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(name for name in ids if ids.count(name) > 1)
    for act in ("exempt", "cancel"):
        assert f'for="{act}_reason"' in page and f'id="{act}_reason"' in page


def test_every_navigation_landmark_is_named():
    """Two menus on a page are told apart by their names; a screen reader lists landmarks by them."""
    root = Path(settings.BASE_DIR)
    templates = [*root.glob("apps/*/templates/**/*.html"), *root.glob("govern/templates/**/*.html")]
    unnamed = [
        f"{path.name}: {tag}" for path in templates for tag in re.findall(r"<nav\b[^>]*>", path.read_text())
        if "aria-label" not in tag
    ]  # fmt: skip
    assert not unnamed, unnamed
