"""The plan's map picks the place (issue 23, item 4): on the confirmation step, the arrow keys and Enter, or a click,
move the cross, fill the latitude and longitude and name the nearest postcode district; checked again and confirmed,
the deployment is at the place picked. Without JavaScript the plan is made by postcode, as before."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounts.services import accounts
from apps.deployments import services
from apps.deployments.choices import DocumentKind
from apps.deployments.models import Deployment
from govern import maps, places
from govern.roles import Rank, Role

from .conftest import sign_in
from .test_accessibility import _violations

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "browser-test-password"
POSTCODE = "W1B 3AG"


@pytest.fixture
def planner(transactional_db):
    """A constable who plans, and the current documents a plan cites."""
    accounts.create_user(None, "pc", PASSWORD, roles=[Role.OFFICER], rank=Rank.CONSTABLE)
    supt = accounts.create_user(None, "supt", PASSWORD, roles=[Role.AUTHORISING_OFFICER], rank=Rank.SUPERINTENDENT)
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


def _plan_by_postcode(page, base):
    start = timezone.localtime().replace(second=0, microsecond=0) + datetime.timedelta(days=2)
    page.goto(f"{base}/deployments/new/")
    page.fill("#id_location_name", "Oxford Circus")
    page.fill("#id_address", "Oxford Street, London W1")
    page.fill("#id_postcode", POSTCODE)
    page.select_option("#id_location_type", "crime_hotspot")
    page.fill("#id_grounds", "Robbery hotspot: 41 robberies in 28 days around the station exits.")
    page.fill("#id_start", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_end", (start + datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    for label in (
        "Data protection impact assessment v1",
        "Equality impact assessment v1",
        "Appropriate policy document v1",
    ):
        page.check(f"text={label}")
    page.click("#plan")


def test_the_place_is_picked_on_the_map_by_keyboard_and_by_click(live_server, browser, planner, screenshots):
    base = live_server.url
    page = browser.new_page()
    sign_in(page, base, "pc", PASSWORD)
    _plan_by_postcode(page, base)
    assert page.locator("#plan-map-how").is_visible()  # the script shows how to pick
    assert _violations(page) == []  # axe: the map as a keyboard control is named, described and focusable

    # Keyboard: three steps north (4 px each) then Enter, from the postcode's point at the map's centre.
    postcode = places.point_of(POSTCODE)
    drawn = maps.place_map(postcode)
    page.focus("#plan-map svg")
    for _ in range(3):
        page.keyboard.press("ArrowUp")
    assert "press Enter to pick it" in page.locator("#plan-map-picked").inner_text()
    assert page.input_value("#id_latitude") == ""  # moving the cross alone fills nothing
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#plan-map-picked').textContent.includes('district')")
    north = postcode.latitude + 12 / drawn["px_per_km"] / drawn["km_per_degree"]
    assert abs(float(page.input_value("#id_latitude")) - north) < 2e-6
    assert abs(float(page.input_value("#id_longitude")) - postcode.longitude) < 2e-6
    assert page.locator("#confirm").is_disabled()  # the step above still shows the place checked before
    assert "Check again" in page.locator("#confirm-held").inner_text()

    # A click: the cross goes where the map was clicked, and the district nearest that place is named.
    page.click("#plan-map svg", position={"x": 250, "y": 90})
    page.wait_for_function("document.querySelector('#plan-map-picked').textContent.includes(', its centre')")
    picked = (Decimal(page.input_value("#id_latitude")), Decimal(page.input_value("#id_longitude")))
    named = places.nearest(places.Point(*map(float, picked)))[0].code
    assert f"the nearest postcode district is {named}" in page.locator("#plan-map-picked").inner_text()
    assert picked[0] > Decimal(str(postcode.latitude)) and picked[1] > Decimal(str(postcode.longitude))  # north-east
    page.screenshot(path=str(screenshots / "place-picked.png"), full_page=True)

    page.click("#plan")  # check again: the server checks the picked place as if it were typed
    assert f"picked on the map ({picked[0]}, {picked[1]})" in page.locator("#confirm-step").inner_text()
    assert not page.locator("#confirm").is_disabled()
    page.click("#confirm")
    assert page.locator("#state").inner_text() == "Planned"
    deployment = Deployment.objects.get()
    assert (deployment.latitude, deployment.longitude) == picked


def test_without_javascript_the_plan_is_made_by_postcode(live_server, browser, planner):
    page = browser.new_page(java_script_enabled=False)
    sign_in(page, live_server.url, "pc", PASSWORD)
    _plan_by_postcode(page, live_server.url)
    assert page.locator("#plan-map svg[role=img]").is_visible() and not page.locator("#plan-map-how").is_visible()
    page.click("#confirm")
    deployment = Deployment.objects.get()
    point = places.point_of(POSTCODE)
    assert (float(deployment.latitude), float(deployment.longitude)) == pytest.approx(point, abs=1e-6)
