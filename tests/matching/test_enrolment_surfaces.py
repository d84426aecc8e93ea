"""Where a list is enrolled, beside the engine in use, on every surface (issue 24): the watchlist's and the
deployment's pages and their API records show it; an authorising officer re-enrols a list from either page or the
API, with a reason, logged; every other role is refused and nothing changes."""

import pytest
from django.urls import reverse

from apps.audit.models import Event
from apps.matching.engine import get_engine
from apps.matching.models import WatchlistTemplate
from apps.matching.services import enrolment

pytestmark = [pytest.mark.django_db]
OTHER = ("dlib-resnet-v1/mtcnn", "d" * 64)
REASON = "Engine changed on 7 Dec, the list must match again"


def _made_by_another_engine(watchlist) -> None:
    """As if the list had been enrolled while another engine was in use."""
    WatchlistTemplate.objects.filter(watchlist=watchlist).update(engine=OTHER[0], weights_sha256=OTHER[1])
    enrolment.templates.cache_clear()


def _reenrolled() -> bool:
    return WatchlistTemplate.objects.filter(engine=get_engine().name).exists()


def test_the_api_records_say_where_the_version_is_enrolled_against_the_engine_in_use(live, actors, api):
    _made_by_another_engine(live.watchlist)
    client = api(actors.commander)
    listed = client.get(f"/api/watchlists/watchlists/{live.watchlist_id}/").json()["enrolment"]
    assert listed["engine_in_use"] == get_engine().name and listed["on_engine_in_use"] is False
    assert [(e["engine"], e["complete"], e["in_use"]) for e in listed["engines"]] == [(OTHER[0], True, False)]
    deployed = client.get(f"/api/deployments/deployments/{live.pk}/").json()["enrolment"]
    assert deployed == listed
    client.post(f"/api/matching/watchlists/{live.watchlist_id}/reenrol/", {"reason": REASON}, format="json")
    listed = client.get(f"/api/watchlists/watchlists/{live.watchlist_id}/").json()["enrolment"]
    assert listed["on_engine_in_use"] is True
    assert [(e["engine"], e["in_use"]) for e in listed["engines"]] == [(get_engine().name, True), (OTHER[0], False)]


def test_the_schema_documents_the_enrolment_field_and_the_reenrol_endpoint(api, actors):
    schema = api(actors.commander).get("/api/schema/", {"format": "json"}).json()
    assert "enrolment" in schema["components"]["schemas"]["Watchlist"]["properties"]
    assert "enrolment" in schema["components"]["schemas"]["Deployment"]["properties"]
    assert "post" in schema["paths"]["/api/matching/watchlists/{id}/reenrol/"]


def test_the_api_reenrols_with_a_reason_and_logs_it(live, actors, api):
    _made_by_another_engine(live.watchlist)
    answer = api(actors.commander).post(
        f"/api/matching/watchlists/{live.watchlist_id}/reenrol/", {"reason": REASON}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["templates"] == 1 and _reenrolled()
    event = Event.objects.get(action="templates.reenrolled")
    assert event.actor == actors.commander and event.reason == REASON


@pytest.mark.parametrize(
    ("username", "body", "status"),
    [
        ("officer", {"reason": REASON}, 403),
        ("compiler", {"reason": REASON}, 403),
        ("privacy", {"reason": REASON}, 403),
        ("oversight", {"reason": REASON}, 403),
        ("commander", {"reason": "short"}, 400),
        ("commander", {}, 400),
    ],
)
def test_the_api_refuses_other_roles_and_a_short_reason_writing_nothing(live, actors, api, username, body, status):
    _made_by_another_engine(live.watchlist)
    answer = api(getattr(actors, username)).post(
        f"/api/matching/watchlists/{live.watchlist_id}/reenrol/", body, format="json"
    )
    assert answer.status_code == status, answer.content
    assert not _reenrolled()
    assert not Event.objects.filter(action__startswith="templates.reenrol").exists()


def test_the_pages_show_the_enrolment_and_offer_reenrolment_to_an_authorising_officer_only(live, actors, client):
    _made_by_another_engine(live.watchlist)
    client.force_login(actors.commander)
    watchlist_page = client.get(reverse("watchlists:detail", args=[live.watchlist_id]), {"reason": REASON}).content
    deployment_page = client.get(reverse("deployments:detail", args=[live.pk])).content.decode()
    for page in (watchlist_page.decode(), deployment_page):
        assert 'id="not-enrolled-in-use"' in page and OTHER[0] in page and get_engine().name in page
        assert 'id="reenrol-form"' in page
    client.force_login(actors.officer)
    assert 'id="reenrol-form"' not in client.get(reverse("deployments:detail", args=[live.pk])).content.decode()


def test_the_page_reenrols_with_a_reason_and_returns_to_the_page(live, actors, client):
    _made_by_another_engine(live.watchlist)
    client.force_login(actors.commander)
    back = reverse("deployments:detail", args=[live.pk])
    answer = client.post(reverse("matching:reenrol", args=[live.watchlist_id]), {"reason": REASON, "next": back})
    assert answer.status_code == 302 and answer["Location"] == back
    assert _reenrolled() and Event.objects.get(action="templates.reenrolled").reason == REASON
    assert 'id="enrolled-in-use"' in client.get(back).content.decode()


def test_the_page_refuses_a_short_reason_with_a_message_and_other_roles_with_403(live, actors, client):
    _made_by_another_engine(live.watchlist)
    url = reverse("matching:reenrol", args=[live.watchlist_id])
    client.force_login(actors.commander)
    answer = client.post(url, {"reason": "short"}, follow=True)
    assert "Say why" in answer.content.decode()
    for user in (actors.officer, actors.compiler, actors.privacy):
        client.force_login(user)
        assert client.post(url, {"reason": REASON}).status_code == 403
    assert not _reenrolled()
    assert not Event.objects.filter(action__startswith="templates.reenrol").exists()
