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
    body = {
        "content_hash": review.content_hash,
        "decision": "approve",
        "route": "standard",
        "comment": "",
        "confirmed": "yes",
    }
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


def test_the_decision_has_nothing_chosen_and_says_what_it_will_do_before_it_is_done(approvers, client, submitted):
    watchlist, review = submitted
    client.force_login(approvers.superintendent)
    url = f"{reverse('watchlists:review', args=[watchlist.pk])}?reason={REASON}"
    page = client.get(url).content.decode()
    decision = page.split('name="decision"', 1)[1].split("</fieldset>", 1)[0]
    assert 'type="radio" name="decision" value="approve"' in page and "govuk-radios__input" in decision
    assert "checked" not in decision  # no decision preselected
    body = {"content_hash": review.content_hash, "decision": "approve", "route": "standard", "comment": ""}
    asked = client.post(url, body).content.decode()
    assert 'id="confirm-step"' in asked and f"Approve {watchlist.reference} version {review.version}" in asked
    assert f'name="content_hash" value="{review.content_hash}"' in asked  # the confirmation names the version
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.SUBMITTED  # nothing done yet
    client.post(url, {**body, "confirmed": "yes"})
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.APPROVED


def test_a_confirmation_of_a_version_changed_meanwhile_is_refused(approvers, client, submitted):
    watchlist, _ = submitted
    client.force_login(approvers.superintendent)
    url = f"{reverse('watchlists:review', args=[watchlist.pk])}?reason={REASON}"
    stale = "0" * 64
    body = {"content_hash": stale, "decision": "approve", "route": "standard", "comment": "", "confirmed": "yes"}
    page = client.post(url, body).content.decode()
    assert "changed since you reviewed it" in page
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.SUBMITTED


def test_every_error_of_the_decision_shows_at_once_in_a_summary_linking_to_its_field(approvers, client, submitted):
    watchlist, review = submitted
    client.force_login(approvers.superintendent)
    url = f"{reverse('watchlists:review', args=[watchlist.pk])}?reason={REASON}"
    body = {"content_hash": review.content_hash, "route": "urgent", "comment": "y" * 3000}
    page = client.post(url, body).content.decode()
    summary = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    assert 'href="#id_decision_0"' in summary and 'href="#id_comment"' in summary  # both, in one submission
    body = {"content_hash": review.content_hash, "decision": "return", "route": "standard", "comment": " "}
    page = client.post(url, body).content.decode()
    assert 'href="#id_comment"' in page and "Say what must change." in page and 'id="confirm-step"' not in page


def test_the_forms_mark_required_fields_and_label_every_input(actors, client):
    client.force_login(actors.compiler)
    page = client.get(reverse("watchlists:subject-create")).content.decode()
    assert 'for="id_family_name">Family name <span class="govuk-required">(required)</span>' in page
    for field_id in ("id_family_name", "id_date_of_birth", "id_pnc_id"):
        assert f'for="{field_id}"' in page and f'id="{field_id}"' in page
