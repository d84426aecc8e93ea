"""The watchlist pages call the same services: refusals show on the page, personal data only after a reason."""

import pytest
from django.urls import reverse

from apps.audit.models import Event
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Watchlist
from apps.watchlists.services import watchlists

pytestmark = pytest.mark.django_db
REASON = "Reviewing before tonight's deployment"


def test_the_list_page_shows_a_commander_the_queue(approvers, client, submitted):
    watchlist, _ = submitted
    client.force_login(approvers.superintendent)
    page = client.get(reverse("watchlists:list"))
    assert page.status_code == 200 and b"Awaiting your decision" in page.content
    assert watchlist.reference.encode() in page.content


def test_a_watchlists_entries_need_a_reason_first(actors, client, draft):
    client.force_login(actors.compiler)
    page = client.get(reverse("watchlists:detail", args=[draft.pk]))
    assert b"Why are you consulting this record?" in page.content and b"EXAMPLE" not in page.content
    page = client.get(reverse("watchlists:detail", args=[draft.pk]), {"reason": REASON})
    assert b"EXAMPLE, Adam" in page.content
    assert Event.objects.filter(action="record.consulted", reason=REASON).count() == 1
    again = client.get(reverse("watchlists:detail", args=[draft.pk]))  # the reason carries over for a while
    assert b"EXAMPLE, Adam" in again.content
    assert Event.objects.filter(action="record.consulted", reason=REASON).count() == 2


def _approve_on_the_review_page(client, watchlist, review):
    """Post the review page's approval of the version reviewed, with a reason for reading the list."""
    url = reverse("watchlists:review", args=[watchlist.pk])
    body = {"content_hash": review.content_hash, "decision": "approve", "route": "standard", "comment": ""}
    return client.post(f"{url}?reason={REASON}", body)


def test_the_compiler_is_refused_on_the_review_page(actors, client, submitted):
    watchlist, review = submitted
    client.force_login(actors.compiler)
    page = _approve_on_the_review_page(client, watchlist, review)
    assert page.status_code == 200
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.SUBMITTED
    assert not Event.objects.filter(action="watchlist.approve").exists()


def test_a_chief_inspector_is_refused_on_the_page_with_the_reason(approvers, client, submitted):
    watchlist, review = submitted
    client.force_login(approvers.chief_inspector)
    page = _approve_on_the_review_page(client, watchlist, review)
    assert b"Superintendent or above" in page.content
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.SUBMITTED


def test_history_lists_versions_and_only_privacy_and_oversight_see_the_log(actors, approvers, client, submitted):
    watchlist, review = submitted
    client.force_login(approvers.superintendent)
    page = client.get(reverse("watchlists:history", args=[watchlist.pk]))
    assert review.content_hash[:16].encode() in page.content and b"Submitted for approval" in page.content
    assert b"watchlist.submit" not in page.content  # the audit policy does not let commanders read the log
    client.force_login(actors.privacy)
    assert b"watchlist.submit" in client.get(reverse("watchlists:history", args=[watchlist.pk])).content


def test_an_officer_sees_which_lists_exist_but_never_who_is_on_them(actors, client, draft, gallery, now):
    client.force_login(actors.officer)
    assert client.get(reverse("watchlists:detail", args=[draft.pk])).status_code == 404  # drafts are private
    watchlists.submit(actors.compiler, draft, now=now)
    assert draft.reference.encode() in client.get(reverse("watchlists:list")).content
    page = client.get(reverse("watchlists:detail", args=[draft.pk]), {"reason": "Planning the deployment"})
    assert page.status_code == 200 and b"EXAMPLE" not in page.content
    assert client.get(reverse("watchlists:subjects")).status_code == 403
