"""Plan → authorise → (time moves) → live → completed → public record, on the real pages in a real browser."""

import datetime

import pytest
from django.utils import timezone

from apps.accounts.services import accounts
from apps.deployments import services
from apps.deployments.choices import AssetKind, DeploymentState, DocumentKind
from apps.deployments.models import Deployment
from apps.watchlists.choices import LegalBasis
from apps.watchlists.demo import synthetic_portrait
from apps.watchlists.services import custody
from govern.roles import Rank, Role
from tests.watchlist_fixtures import compile_watchlist, submit_and_approve

from .conftest import sign_in
from .test_accessibility import _violations

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "browser-test-password"


@pytest.fixture
def world(transactional_db):
    """A deployment's day a little over a day ahead: its list compiled and approved two hours before the start (the
    services' clock moved on), current documents and a van."""
    compiler = accounts.create_user(None, "analyst", PASSWORD, roles=[Role.WATCHLIST_COMPILER])
    accounts.create_user(None, "pc", PASSWORD, roles=[Role.OFFICER], rank=Rank.CONSTABLE)
    supt = accounts.create_user(None, "supt", PASSWORD, roles=[Role.AUTHORISING_OFFICER], rank=Rank.SUPERINTENDENT)
    subject = custody.create_subject(
        compiler,
        family_name="Example",
        given_names="Adam",
        date_of_birth=datetime.date(1990, 5, 17),
        pnc_id="90/123456A",
    )
    image = custody.upload_image(
        compiler,
        subject,
        synthetic_portrait(0),
        captured_on=datetime.date(2026, 3, 1),
        source_system="Custody suite A",
        legal_basis=LegalBasis.PACE_CUSTODY,
    )
    start = timezone.now().replace(second=0, microsecond=0) + datetime.timedelta(hours=26)
    compiled = start - datetime.timedelta(hours=2)
    watchlist = compile_watchlist(
        compiler, subject, image, purpose="LFR, Oxford Circus", start=start, end=start + datetime.timedelta(hours=4),
        now=compiled,
    )  # fmt: skip
    submit_and_approve(compiler, supt, watchlist, now=compiled)
    dpo = accounts.create_user(None, "e2e-dpo", "not-used-1234567", roles=[Role.PRIVACY_OFFICER])
    for kind in DocumentKind.values:
        document = services.record_document(
            dpo,
            kind=kind,
            version="1",
            title=kind.upper(),
            review_by=timezone.localdate() + datetime.timedelta(days=60),
        )
        services.approve_document(supt, document)
    services.register_asset(supt, kind=AssetKind.VAN, identifier="LFR-VAN-7")
    from apps.matching.services import engine_approval

    engine_approval.approve_engine(supt, reason="Test engine for the browser test.", countersigned_by=dpo)
    return start


def test_plan_authorise_live_completed_public(live_server, browser, world, screenshots):
    base, start = live_server.url, timezone.localtime(world)
    page = browser.new_page()
    sign_in(page, base, "pc", PASSWORD)
    page.click("main >> text=Deployments")
    page.click("text=Plan a deployment")
    page.fill("#id_location_name", "Oxford Circus")
    page.fill("#id_address", "Oxford Street, London W1")
    page.fill("#id_postcode", "W1B 3AG")  # the postcode places it: no latitude and longitude typed
    page.select_option("#id_location_type", "crime_hotspot")
    page.fill("#id_grounds", "Robbery hotspot: 41 robberies in 28 days around the station exits.")
    page.fill("#id_start", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_end", (start + datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    page.check("text=LFR van LFR-VAN-7")
    for label in (
        "Data protection impact assessment v1",
        "Equality impact assessment v1",
        "Appropriate policy document v1",
    ):
        page.check(f"text={label}")
    page.click("#plan")
    # The confirmation step shows the place on a map drawn on the server, with the districts around it in words.
    assert page.locator("#plan-map svg.map").is_visible()  # a picture, and with the script a control to pick on
    assert "W1B 3AG's own point" in page.locator("#confirm-step").inner_text()
    assert "Nearest postcode districts" in page.locator("#plan-map-nearest").inner_text()
    assert _violations(page) == []  # axe: no serious or critical violation on the step
    page.click("#confirm")
    assert page.locator("#state").inner_text() == "Planned"
    assert page.locator("#place-map svg[role=img]").is_visible()
    assert "Not authorised." in page.locator("ul.gate").inner_text()
    assert page.locator("#no-watchlist").is_visible()  # planned a day ahead: the list is compiled later
    # A backdated notice is refused; recorded now, a day before the start, it is in time.
    page.fill("#notice_published_at", "0001-01-01T00:00")
    page.fill("#notice_reference", "Force website and local press, 20 Nov")
    page.click("#notice-form button")
    assert "predate the plan" in page.locator("ul.messages").inner_text()
    page.fill("#notice_published_at", "")
    page.fill("#notice_reference", "Force website and local press, 20 Nov")
    page.click("#notice-form button")
    page.select_option("#watchlist_watchlist", label="WL-2026-0001 v1 (Approved)")
    page.fill("#watchlist_reason", "The list was compiled and approved.")
    page.click("#watchlist-form button")
    page.check("#checklist_signage_up")
    page.check("#checklist_leaflets_available")
    page.check("#checklist_briefing_done")
    page.click("#checklist-form button")
    page.click("text=Sign out")

    sign_in(page, base, "supt", PASSWORD)
    page.click("text=Authorisation queue")
    page.click("#authorisation-queue a")
    page.click("#authorise")
    page.click("#confirm")  # the confirmation says what authorising does, at the revision shown
    assert page.locator("#state").inner_text() == "Authorised"
    page.screenshot(path=str(screenshots / "deployment-authorised.png"), full_page=True)

    deployment = Deployment.objects.get()
    services.run_schedule(now=deployment.start + datetime.timedelta(minutes=1))  # time moves to the start
    page.reload()
    assert page.locator("#state").inner_text() == "Live"
    # Every condition but the period holds (the page checks at the real time, before the start).
    assert page.locator("ul.gate li.bad").count() == 1
    assert page.locator("ul.gate li.bad").get_attribute("data-condition") == "period"

    services.run_schedule(now=deployment.end + datetime.timedelta(minutes=1))  # and past the end
    services.publish_figures(  # the system's counts, as if frames had been processed
        deployment,
        faces_processed=12873,
        alerts=2,
        true_alerts=2,
        false_alerts=0,
        engagements=2,
        arrests=1,
    )
    assert Deployment.objects.get().state == DeploymentState.COMPLETED
    page.click("text=Sign out")
    page.goto(f"{base}/public/deployments/")
    table = page.locator("table.published").inner_text()
    assert "Oxford Circus" in table and "12,873" in table
    assert "EXAMPLE" not in page.content() and "90/123456A" not in page.content()
    page.screenshot(path=str(screenshots / "public-records.png"), full_page=True)
