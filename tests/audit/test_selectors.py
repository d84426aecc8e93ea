"""Reads in one place (issue 21, point 3): the page and the API of the same read call the same selector, so they log
the same consultation: the same person, record, data and reason."""

import pytest
from django.urls import reverse

from apps.audit.choices import CONSULTATION_ACTION
from apps.audit.models import Event
from apps.matching.models import Alert
from apps.matching.services import live_capture
from apps.watchlists.services import watchlists

pytestmark = pytest.mark.django_db
WHY = {"HTTP_X_ACCESS_REASON": "Reviewing the list before approval, ticket 4411"}


def _consultations(since: int) -> list[tuple]:
    logged = Event.objects.filter(seq__gt=since, action=CONSULTATION_ACTION).order_by("seq")
    return [(e.actor_username, e.target_type, e.target_id, e.data, e.reason) for e in logged]


def _last() -> int:
    return Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _one_each(client, page: str, api, endpoint: str) -> tuple[tuple, tuple]:
    """What the page and then the API logged for the same read: exactly one consultation each."""
    since = _last()
    assert client.get(page, **WHY).status_code == 200
    from_page = _consultations(since)
    since = _last()
    assert api.get(endpoint, **WHY).status_code == 200
    from_api = _consultations(since)
    assert len(from_page) == 1 and len(from_api) == 1, (from_page, from_api)
    return from_page[0], from_api[0]


READS_OF_A_LIST = [("watchlists:detail", "entries/"), ("watchlists:review", "review/")]


@pytest.mark.parametrize(("page_name", "endpoint_tail"), READS_OF_A_LIST)
def test_a_watchlist_s_entries_and_its_review_are_logged_alike_on_the_page_and_the_api(
    approvers, api, client, submitted, page_name, endpoint_tail
):
    watchlist, review = submitted
    commander = approvers.superintendent
    client.force_login(commander)
    page, endpoint = _one_each(
        client,
        reverse(page_name, args=[watchlist.pk]),
        api(commander),
        f"/api/watchlists/watchlists/{watchlist.pk}/{endpoint_tail}",
    )
    assert page == endpoint
    expected = {
        "entries/": {"entries": [entry.pk for entry in watchlist.entries.order_by("pk")]},
        "review/": {"review": review.pk, "version": review.version},
    }
    assert (page[1], page[3]) == ("watchlists.watchlist", expected[endpoint_tail])


def test_a_deployment_s_alerts_are_logged_alike_on_the_queue_and_the_api(actors, api, client, live, vans, astronaut):
    alert = Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0])
    client.force_login(actors.officer)
    page, endpoint = _one_each(
        client,
        reverse("matching:alerts", args=[live.pk]),
        api(actors.officer),
        f"/api/matching/alerts/?deployment={live.pk}",
    )
    assert page == endpoint
    assert page[1:4] == ("matching.alert", "list", {"deployment": live.pk, "state": None, "results": [alert.pk]})


def test_a_page_that_shows_nothing_personal_after_all_logs_nothing(approvers, client, submitted):
    """A review no longer open sends the commander back to the list: nothing was read, so nothing is logged."""
    watchlist, _review = submitted
    client.force_login(approvers.superintendent)
    watchlists.return_for_changes(approvers.superintendent, watchlist, comment="Add the warrant's reference")
    since = _last()
    answered = client.get(reverse("watchlists:review", args=[watchlist.pk]), **WHY)
    assert answered.status_code == 302
    assert _consultations(since) == []
