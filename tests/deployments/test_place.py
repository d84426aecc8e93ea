"""A deployment's place is found from its postcode (or district) and checked on a map drawn on the server, rather than
latitude and longitude typed by hand; typed coordinates are checked against the districts around them, and a place
outside the United Kingdom is refused on the page and by the API (issue 23, item 4)."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.deployments.models import Deployment
from govern import maps, places
from tests.deployment_fixtures import PLACE

pytestmark = pytest.mark.django_db

# Points from Code-Point Open (April 2025), as scripts/vendor_places.py derives them.
BUCKINGHAM_PALACE = (Decimal("51.501009"), Decimal("-0.141588"))  # SW1A 1AA
DUBLIN = ("53.349800", "-6.260300")  # inside the United Kingdom's box, 108 km from Great Britain's nearest postcode
WISSANT = ("50.885000", "1.660000")  # the French coast, inside the box too


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _page(watchlist, documents, **fields) -> dict:
    body = {
        **{name: str(value) for name, value in PLACE.items() if name not in ("latitude", "longitude")},
        "postcode": "sw1a 1aa",
        "latitude": "",
        "longitude": "",
        "start": _local(watchlist.intended_start),
        "end": _local(watchlist.intended_end),
        "threshold": "0.600",
        "documents": [document.pk for document in documents],
        **fields,
    }
    return {name: value for name, value in body.items() if value is not None}


def _api(watchlist, documents, **fields) -> dict:
    body = {
        **{name: str(value) for name, value in PLACE.items() if name not in ("latitude", "longitude")},
        "start": watchlist.intended_start.isoformat(),
        "end": watchlist.intended_end.isoformat(),
        "threshold": "0.600",
        "assets": [],
        "documents": [document.pk for document in documents],
        **fields,
    }
    return {name: value for name, value in body.items() if value is not None}


def _errors(page: str) -> str:
    return page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]


def test_the_postcode_places_the_deployment_after_a_confirmation_step_with_a_map(
    actors, client, approved_list, documents
):
    client.force_login(actors.officer)
    body = _page(approved_list, documents)
    check = client.post(reverse("deployments:plan"), body)
    page = check.content.decode()
    assert check.status_code == 200 and not Deployment.objects.exists()  # nothing planned before it is confirmed
    assert 'id="confirm-step"' in page and "the postcode SW1A 1AA&#x27;s own point (51.501009, -0.141588)" in page
    figure = page.split('id="plan-map"', 1)[1].split("</figure>", 1)[0]
    assert '<svg class="map"' in figure and 'role="img"' in figure and "<desc" in figure  # a text alternative
    assert ">SW1E</text>" in figure and "Nearest postcode districts (their centres): SW1E 0.3 km" in figure
    assert 'name="confirmed" value="yes"' in page and 'name="postcode" value="sw1a 1aa"' in page  # re-posted as typed
    done = client.post(reverse("deployments:plan"), {**body, "confirmed": "yes"})
    deployment = Deployment.objects.get()
    assert done.status_code == 302 and (deployment.latitude, deployment.longitude) == BUCKINGHAM_PALACE
    assert deployment.address == "Oxford Street, London W1, SW1A 1AA"
    detail = client.get(reverse("deployments:detail", args=[deployment.pk])).content.decode()
    assert 'id="place-map"' in detail and ">SW1E</text>" in detail and "Where the deployment is</title>" in detail


def test_a_district_alone_places_it_at_the_district_centre_and_says_how_exact_that_is(
    actors, client, approved_list, documents
):
    client.force_login(actors.officer)
    page = client.post(reverse("deployments:plan"), _page(approved_list, documents, postcode="W1B")).content.decode()
    assert "the centre of postcode district W1B (51.514365, -0.140965)" in page and "kilometres from the street" in page


def test_typed_coordinates_show_the_nearest_district_and_how_far_the_postcode_is(
    actors, client, approved_list, documents
):
    client.force_login(actors.officer)
    near = _page(approved_list, documents, postcode="W1B 3AG", latitude="51.515200", longitude="-0.141800")
    page = client.post(reverse("deployments:plan"), near).content.decode()
    assert "The nearest postcode district is W1B (its centre 0.1 km away)" in page
    assert "0.03 km from the postcode W1B 3AG" in page and "check that the coordinates" not in page
    far = client.post(reverse("deployments:plan"), {**near, "postcode": "SW1A 1AA"}).content.decode()
    assert "1.58 km from the postcode SW1A 1AA" in far and "check that the coordinates and the postcode" in far
    assert 'class="postcode-point"' in far  # the postcode's own point is drawn beside the place
    client.post(reverse("deployments:plan"), {**near, "confirmed": "yes"})
    assert (Deployment.objects.get().latitude, Deployment.objects.get().longitude) == (
        Decimal("51.515200"),
        Decimal("-0.141800"),
    )


def test_an_unknown_postcode_is_a_clear_error_on_the_page_and_by_the_api(actors, api, client, approved_list, documents):
    client.force_login(actors.officer)
    page = client.post(
        reverse("deployments:plan"), _page(approved_list, documents, postcode="SW1A 9ZZ", confirmed="yes")
    ).content.decode()
    assert 'href="#id_postcode"' in _errors(page) and "SW1A 9ZZ is not a postcode in Ordnance Survey" in _errors(page)
    response = api(actors.officer).post(
        "/api/deployments/deployments/", _api(approved_list, documents, postcode="SW1A 9ZZ"), format="json"
    )
    assert response.status_code == 400 and "is not a postcode" in str(response.json()["postcode"]), response.json()
    assert not Deployment.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"latitude": DUBLIN[0], "longitude": DUBLIN[1]}, "latitude", "not in the United Kingdom"),
        ({"latitude": WISSANT[0], "longitude": WISSANT[1]}, "latitude", "not in the United Kingdom"),
        ({"postcode": "JE2 3AB"}, "postcode", "Jersey, a Crown Dependency outside the United Kingdom"),
    ],
)
def test_a_place_outside_the_united_kingdom_is_refused_on_the_page_and_by_the_api(
    actors, api, client, approved_list, documents, fields, field, words
):
    client.force_login(actors.officer)
    page = client.post(
        reverse("deployments:plan"), _page(approved_list, documents, confirmed="yes", **fields)
    ).content.decode()
    assert f'href="#id_{field}"' in _errors(page) and words in _errors(page)
    api_fields = {"postcode": "E15 1XQ", **fields}
    response = api(actors.officer).post(
        "/api/deployments/deployments/", _api(approved_list, documents, **api_fields), format="json"
    )
    assert response.status_code == 400 and words in str(response.json()[field]), response.json()
    assert not Deployment.objects.exists()


def test_the_api_places_a_deployment_by_postcode_and_moves_it_by_a_new_one(actors, api, approved_list, documents):
    officer = api(actors.officer)
    created = officer.post(
        "/api/deployments/deployments/", _api(approved_list, documents, postcode="sw1a1aa"), format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["latitude"], body["longitude"]) == ("51.501009", "-0.141588") and "postcode" not in body
    assert body["address"] == "Oxford Street, London W1, SW1A 1AA"
    moved = officer.patch(
        f"/api/deployments/deployments/{body['id']}/",
        {"postcode": "W1B 3AG", "reason": "Moved up the road"},
        format="json",
    )
    assert moved.status_code == 200, moved.json()
    assert (moved.json()["latitude"], moved.json()["longitude"]) == ("51.514956", "-0.141553")
    assert moved.json()["address"] == "Oxford Street, London W1, W1B 3AG"  # the old postcode replaced, not kept
    refused = officer.patch(
        f"/api/deployments/deployments/{body['id']}/",
        {"latitude": DUBLIN[0], "longitude": DUBLIN[1], "reason": "x"},
        format="json",
    )
    assert refused.status_code == 400 and Deployment.objects.get().latitude == Decimal("51.514956")


def test_the_schema_documents_the_postcode_for_planning_and_changing():
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    for name in ("DeploymentRequest", "DeploymentUpdateRequest"):
        postcode = components[name]["properties"]["postcode"]
        assert "Code-Point Open" in postcode["description"], name
        assert "latitude" not in components[name].get("required", []), name


def test_the_map_marks_the_place_with_the_districts_around_it_and_a_scale():
    drawn = maps.place_map(places.Point(51.5152, -0.1418))
    assert drawn["place"]["x"] == drawn["place"]["y"] == maps.SIZE / 2  # the place at the centre, north up
    codes = [district["code"] for district in drawn["districts"]]
    assert codes[:1] == ["W1B"] and {"W1F", "W1S", "W1W"} <= set(codes)
    assert all(0 <= dot["x"] <= maps.SIZE and 0 <= dot["y"] <= maps.SIZE for dot in drawn["sectors"])
    assert drawn["scale"]["label"] == "0.5 km" and drawn["scale"]["x2"] > drawn["scale"]["x1"]
    assert drawn["nearest"][0] == {"code": "W1B", "km": 0.1, "direction": "south-east"}
    w1f = next(d for d in drawn["districts"] if d["code"] == "W1F")
    assert w1f["x"] > drawn["place"]["x"]  # W1F (Soho) is east of Oxford Circus: east is to the right


BELFAST_CITY_HALL = ("54.596500", "-5.930100")  # BT1 5GS: no open data places it, so it is typed


def test_a_northern_ireland_postcode_alone_says_why_it_cannot_be_found_and_what_to_do(
    actors, api, client, approved_list, documents
):
    """Code-Point Open has no BT postcodes and no openly licensed data does (README, "Places and postcodes")."""
    client.force_login(actors.officer)
    page = client.post(
        reverse("deployments:plan"), _page(approved_list, documents, postcode="BT1 5GS", confirmed="yes")
    ).content.decode()
    summary = _errors(page)
    assert 'href="#id_postcode"' in summary and "BT1 5GS is in Northern Ireland" in summary
    assert "Land &amp; Property Services" in summary and "latitude and longitude too: they are checked" in summary
    response = api(actors.officer).post(
        "/api/deployments/deployments/", _api(approved_list, documents, postcode="BT1 5GS"), format="json"
    )
    assert response.status_code == 400 and "Land & Property Services" in str(response.json()["postcode"])
    assert not Deployment.objects.exists()


def test_a_northern_ireland_place_is_given_by_coordinates_checked_against_northern_ireland(
    actors, api, client, approved_list, documents
):
    client.force_login(actors.officer)
    belfast = _page(
        approved_list, documents, postcode="BT1 5GS", latitude=BELFAST_CITY_HALL[0], longitude=BELFAST_CITY_HALL[1]
    )
    page = client.post(reverse("deployments:plan"), belfast).content.decode()
    assert "The place is in Northern Ireland, whose postcodes Govern has no open data for" in page
    assert "The nearest postcode district is" not in page  # Great Britain's nearest district says nothing there
    # A BT postcode with coordinates in Great Britain is a mistake in one of them: refused, on both surfaces.
    london = {"latitude": "51.515200", "longitude": "-0.141800"}
    refused = client.post(reverse("deployments:plan"), {**belfast, **london, "confirmed": "yes"}).content.decode()
    assert "BT1 5GS is a Northern Ireland postcode, but 51.5152, -0.1418 is not in Northern Ireland" in _errors(refused)
    response = api(actors.officer).post(
        "/api/deployments/deployments/", _api(approved_list, documents, postcode="BT1 5GS", **london), format="json"
    )
    assert response.status_code == 400 and "not in Northern Ireland" in str(response.json()["latitude"])
    assert not Deployment.objects.exists()
    client.post(reverse("deployments:plan"), {**belfast, "confirmed": "yes"})
    assert (str(Deployment.objects.get().latitude), str(Deployment.objects.get().longitude)) == BELFAST_CITY_HALL


def _nearest(client, **query):
    return client.get(reverse("deployments:place-nearest"), query)


def test_a_place_picked_on_the_map_is_named_by_its_nearest_district_as_the_plan_checks_it(actors, client):
    """The plan's map (static/govern/place-pick.js) asks where a picked place is; the plan checks it again."""
    client.force_login(actors.officer)
    picked = _nearest(client, latitude="51.515200", longitude="-0.141800").json()
    assert picked["district"] == "W1B" and picked["km"] < 0.2
    assert picked["said"].startswith("Picked 51.515200, -0.141800: the nearest postcode district is W1B")
    belfast = _nearest(client, latitude=BELFAST_CITY_HALL[0], longitude=BELFAST_CITY_HALL[1]).json()
    assert belfast["district"] is None and "in Northern Ireland: Govern has no postcode data" in belfast["said"]
    dublin = _nearest(client, latitude=DUBLIN[0], longitude=DUBLIN[1])
    assert dublin.status_code == 400 and "not in the United Kingdom" in dublin.json()["problem"]
    for bad in ({"latitude": "north", "longitude": "-0.1"}, {"latitude": "51.5"}, {"latitude": "95", "longitude": "0"}):
        answer = _nearest(client, **bad)
        assert answer.status_code == 400 and answer.json()["problem"], bad
    client.force_login(actors.commander)  # a commander authorises plans, never makes them
    assert _nearest(client, latitude="51.515200", longitude="-0.141800").status_code == 403


def test_the_confirmation_steps_map_carries_what_the_page_script_needs_to_pick_a_place(
    actors, client, approved_list, documents
):
    client.force_login(actors.officer)
    page = client.post(reverse("deployments:plan"), _page(approved_list, documents)).content.decode()
    figure = page.split('id="plan-map"', 1)[1].split("</figure>", 1)[0]
    drawn = maps.place_map(places.Point(*map(float, BUCKINGHAM_PALACE)))
    assert 'data-pick="plan-form"' in figure and f'data-nearest-url="{reverse("deployments:place-nearest")}"' in figure
    assert f'data-latitude="{float(BUCKINGHAM_PALACE[0])}"' in figure
    assert f'data-px-per-km="{drawn["px_per_km"]}"' in figure
    assert 'id="plan-map-how" hidden' in figure  # the instructions show only where the script runs
    assert 'src="/static/govern/place-pick.js"' in page and "<script>" not in page  # served, never inline
    blank_form = client.get(reverse("deployments:plan")).content.decode()
    assert "place-pick.js" not in blank_form  # no map to pick on before the postcode is given
