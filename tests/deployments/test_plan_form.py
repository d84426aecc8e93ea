"""The plan page: a van booked at an overlapping time is not offered, the place is given by postcode and checked,
and every problem shows at once (issue 23, item 4)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.deployments.models import Deployment
from tests.deployment_fixtures import PLACE

pytestmark = pytest.mark.django_db


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _page_body(watchlist, documents, **fields) -> dict:
    return {
        **{name: str(value) for name, value in PLACE.items()},
        "location_name": "Stratford Centre",
        "latitude": "51.541600",
        "longitude": "-0.003300",
        "postcode": "e15 1xq",
        "start": _local(watchlist.intended_start),
        "end": _local(watchlist.intended_end),
        "threshold": "0.600",
        "documents": [document.pk for document in documents],
        "confirmed": "yes",  # past the confirmation step (tests/deployments/test_place.py)
        **fields,
    }


def test_a_van_booked_for_an_overlapping_deployment_is_not_offered(actors, client, planned, vans, documents):
    client.force_login(actors.officer)
    blank = client.get(reverse("deployments:plan")).content.decode()
    assert f'value="{vans[0].pk}"' in blank and f"booked: {planned.reference}" in blank  # its bookings are shown
    body = _page_body(planned.watchlist, documents, grounds="")  # an error: the page comes back with the period
    page = client.post(reverse("deployments:plan"), body).content.decode()
    offered = page.split('id="id_assets_group"', 1)[1].split("</fieldset>", 1)[0]
    assert f'value="{vans[0].pk}"' not in offered and f'value="{vans[1].pk}"' in offered
    chosen = client.post(reverse("deployments:plan"), {**body, "grounds": "Robbery hotspot", "assets": [vans[0].pk]})
    assert "Select a valid choice" in chosen.content.decode() and Deployment.objects.count() == 1
    free = client.post(reverse("deployments:plan"), {**body, "grounds": "Robbery hotspot", "assets": [vans[1].pk]})
    assert free.status_code == 302 and Deployment.objects.count() == 2


def test_the_postcode_is_checked_and_kept_in_the_address(actors, client, approved_list, documents):
    client.force_login(actors.officer)
    bad = client.post(reverse("deployments:plan"), _page_body(approved_list, documents, postcode="E15 XYZ"))
    assert "is not a UK postcode" in bad.content.decode() and not Deployment.objects.exists()
    client.post(reverse("deployments:plan"), _page_body(approved_list, documents))
    assert Deployment.objects.get().address == "Oxford Street, London W1, E15 1XQ"


def test_coordinates_outside_the_united_kingdom_are_refused_on_the_page_and_by_the_api(
    actors, api, client, approved_list, documents
):
    client.force_login(actors.officer)
    swapped = _page_body(approved_list, documents, latitude="-0.003300", longitude="51.541600", grounds="")
    page = client.post(reverse("deployments:plan"), swapped).content.decode()
    summary = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    assert 'href="#id_latitude"' in summary and 'href="#id_grounds"' in summary  # both at once
    assert "not in the United Kingdom" in summary and not Deployment.objects.exists()
    body = {
        **{name: str(value) for name, value in PLACE.items()},
        "latitude": "-0.141800",
        "longitude": "51.515200",
        "start": approved_list.intended_start.isoformat(),
        "end": approved_list.intended_end.isoformat(),
        "threshold": "0.600",
        "assets": [],
        "documents": [document.pk for document in documents],
    }
    response = api(actors.officer).post("/api/deployments/deployments/", body, format="json")
    assert response.status_code == 400 and "not in the United Kingdom" in str(response.json()["latitude"]), (
        response.json()
    )
    assert not Deployment.objects.exists()
