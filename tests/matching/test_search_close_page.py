"""Closing a retrospective search from its page (issue 23): the API's close service, its reason asked and logged."""

import pytest
from django.urls import reverse

from apps.audit.models import Event
from apps.matching.choices import SearchState
from apps.matching.models import Probe, SearchRequest
from apps.matching.services import retrospective

pytestmark = pytest.mark.django_db


@pytest.fixture
def search(actors, astronaut):
    found = retrospective.submit(
        actors.retail, [astronaut], incident_reference="S-9", crime_type="Theft", sharing_agreement="DSA-1"
    )
    return retrospective.run_search(found.pk)


def test_an_officer_closes_a_search_on_its_page_with_the_reason(actors, client, search):
    client.force_login(actors.officer)
    page = client.get(reverse("matching:search", args=[search.pk])).content.decode()
    assert 'id="close-search"' in page
    url = reverse("matching:search-close", args=[search.pk])
    client.post(url, {"reason": ""})  # no reason: nothing closed, nothing deleted
    assert SearchRequest.objects.get(pk=search.pk).state != SearchState.CLOSED
    assert Probe.objects.filter(request=search, ciphertext__isnull=False).exists()
    done = client.post(url, {"reason": "Suspect charged: the case is closed"}, follow=True)
    assert "closed" in done.content.decode() and 'id="close-search"' not in done.content.decode()
    assert SearchRequest.objects.get(pk=search.pk).state == SearchState.CLOSED
    assert Event.objects.get(action="search.closed").reason == "Suspect charged: the case is closed"
    again = client.post(url, {"reason": "Once more"}, follow=True)
    assert "already closed" in again.content.decode()
    assert Event.objects.filter(action="search.closed").count() == 1


def test_the_api_refuses_a_blank_close_reason_and_the_service_logs_the_reason(actors, api, search):
    url = f"/api/matching/searches/{search.pk}/close/"
    assert api(actors.officer).post(url, {"reason": "   "}, format="json").status_code == 400
    assert SearchRequest.objects.get(pk=search.pk).state != SearchState.CLOSED
    assert api(actors.officer).post(url, {"reason": "Charged"}, format="json").status_code == 200
    assert Event.objects.get(action="search.closed").reason == "Charged"


def test_a_retail_partner_or_privacy_officer_may_not_close_it(actors, client, search):
    url = reverse("matching:search-close", args=[search.pk])
    for person in (actors.retail, actors.privacy):
        client.force_login(person)
        assert 'id="close-search"' not in client.get(reverse("matching:search", args=[search.pk])).content.decode()
        assert client.post(url, {"reason": "Not mine to close"}).status_code == 403
    for person in (actors.compiler, actors.oversight):
        client.force_login(person)
        assert client.post(url, {"reason": "Not mine to close"}).status_code == 403
    assert SearchRequest.objects.get(pk=search.pk).state != SearchState.CLOSED
    assert not Event.objects.filter(action__in=["search.closed", "probe.deleted"]).exists()
