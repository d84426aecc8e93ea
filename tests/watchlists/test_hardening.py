"""Regression tests for holes a review found: each fails without its fix."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from apps.audit.models import Event
from apps.watchlists.choices import ReviewState, WatchlistState
from apps.watchlists.models import Entry, Review, Watchlist
from apps.watchlists.services import custody, watchlists
from govern.errors import Conflict
from govern.roles import Rank, Role
from tests.watchlist_fixtures import JUSTIFICATION, approve_urgently, list_person

pytestmark = pytest.mark.django_db


def test_after_an_urgent_approval_lapses_the_urgent_route_is_closed(approvers, submitted, now, settings):
    settings.URGENT_RATIFICATION_HOURS = 1
    watchlist, review = submitted
    approve_urgently(approvers.inspector, watchlist, review.content_hash, now=now)
    later = now + datetime.timedelta(hours=1, minutes=1)
    watchlists.sweep(now=later)
    again = watchlists.open_review(watchlist)
    assert again.submitted_by == review.submitted_by and again.content_hash == review.content_hash
    with pytest.raises(PermissionDenied, match="already lapsed"):
        approve_urgently(approvers.inspector, watchlist, again.content_hash, now=later)
    watchlists.approve(approvers.superintendent, watchlist, content_hash=again.content_hash, now=later)


def test_changing_a_listed_subjects_details_withdraws_the_approval(actors, approved_watchlist, gallery, now):
    watchlist = approved_watchlist()
    subject, _ = gallery.adult
    fifteen = now.date().replace(year=now.year - 15)
    custody.update_subject(
        actors.compiler, subject, reason="Date of birth corrected from PNC", date_of_birth=fifteen, now=now
    )
    changed = Watchlist.objects.get(pk=watchlist.pk)
    assert changed.state == WatchlistState.DRAFT and not watchlists.in_force(changed, now)
    with pytest.raises(ValidationError, match="under 18"):
        watchlists.submit(actors.compiler, changed, now=now)


def test_the_submitter_of_someone_elses_draft_may_not_approve_it(make_user, actors, draft, now):
    both = make_user("both", Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT)
    review = watchlists.submit(both, draft, now=now)
    with pytest.raises(PermissionDenied, match="submitted"):
        watchlists.approve(both, draft, content_hash=review.content_hash, now=now)


def test_a_contributor_to_an_earlier_version_may_not_approve_a_later_one(make_user, actors, draft, gallery, now):
    both = make_user("both", Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT)
    list_person(both, draft, *gallery.other, now=now)
    watchlists.submit(actors.compiler, draft, now=now)
    entry = Entry.objects.get(watchlist=draft, subject=gallery.adult[0])
    watchlists.update_entry(actors.compiler, entry, justification=JUSTIFICATION + " Checked.", now=now)
    review = watchlists.submit(actors.compiler, Watchlist.objects.get(pk=draft.pk), now=now)
    assert review.version == 2
    with pytest.raises(PermissionDenied):
        watchlists.approve(both, draft, content_hash=review.content_hash, now=now)


def test_the_database_refuses_a_review_decided_by_its_submitter(actors, submitted, now):
    _, review = submitted
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.filter(pk=review.pk).update(decided_by=review.submitted_by, state=ReviewState.APPROVED)


def test_the_database_refuses_an_approval_by_the_compiler(actors, submitted):
    watchlist, _ = submitted
    with pytest.raises(IntegrityError), transaction.atomic():
        Watchlist.objects.filter(pk=watchlist.pk).update(approved_by=watchlist.compiled_by)


def test_an_administrator_cannot_grant_themselves_power(actors):
    from apps.accounts.services import accounts

    with pytest.raises(PermissionDenied, match="own"):
        accounts.set_roles(actors.admin, actors.admin, [Role.ADMINISTRATOR, Role.AUTHORISING_OFFICER])
    with pytest.raises(PermissionDenied, match="own"):
        accounts.update_profile(actors.admin, actors.admin, rank=Rank.COMMANDER)
    with pytest.raises(ValidationError, match="administrator may not also be"):
        accounts.set_roles(None, actors.officer, [Role.ADMINISTRATOR, Role.AUTHORISING_OFFICER])


def test_the_log_keeps_no_subject_identity_in_clear(actors, gallery):
    event = Event.objects.filter(action="subject.create").first()
    text = event.canonical
    for value in ("Example", "Adam", "90/123456A", "1990-05-17"):
        assert value not in text
    assert len(event.data["identity"]) == 64 and event.data["ethnicity"] == "W1"


@pytest.mark.parametrize("reason", ["x" * 2500, "bad\x00reason", "tab\there"])
def test_unacceptable_reasons_get_400_not_500(actors, api, gallery, reason):
    subject, image = gallery.adult
    client = api(actors.compiler)
    before = Event.objects.count()
    assert client.get(f"/api/watchlists/subjects/{subject.pk}/", {"reason": reason}).status_code == 400
    assert client.get(f"/api/watchlists/images/{image.pk}/content/", {"reason": reason}).status_code == 400
    assert Event.objects.count() == before


def test_pages_refuse_bad_form_values_without_a_500(actors, approvers, client, submitted, draft):
    watchlist, review = submitted
    client.force_login(approvers.superintendent)
    url = f"/watchlists/{watchlist.pk}/review/?reason=Reviewing%20now"
    page = client.post(
        url, {"content_hash": review.content_hash, "decision": "return", "route": "standard", "comment": "y" * 3000}
    )
    assert page.status_code == 200 and Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.SUBMITTED
    client.force_login(actors.compiler)
    response = client.post(f"/watchlists/{watchlist.pk}/submit/", {"revision": "not-a-number"})
    assert response.status_code == 302


def test_an_empty_subject_patch_is_400_and_the_own_pnc_is_accepted(actors, api, gallery):
    subject, _ = gallery.adult
    client = api(actors.compiler)
    before = Event.objects.count()
    assert (
        client.patch(f"/api/watchlists/subjects/{subject.pk}/", {"reason": "just looking"}, format="json").status_code
        == 400
    )
    assert Event.objects.count() == before
    response = client.patch(
        f"/api/watchlists/subjects/{subject.pk}/",
        {"pnc_id": subject.pnc_id, "given_names": "Adam J", "reason": "Corrected from PNC"},
        format="json",
    )
    assert response.status_code == 200, response.json()


def test_removing_an_entry_twice_is_a_conflict_and_logs_once(actors, draft, now):
    entry = Entry.objects.get(watchlist=draft)
    watchlists.remove_entry(actors.compiler, entry, reason="Arrested yesterday", now=now)
    with pytest.raises(Conflict):
        watchlists.remove_entry(actors.compiler, entry, reason="Arrested yesterday", now=now)
    assert Event.objects.filter(action="watchlist.entry_remove").count() == 1
    with pytest.raises(ValidationError, match="Nothing to change"):
        watchlists.update_entry(actors.compiler, entry, now=now)


def test_a_standing_watchlist_is_refused(actors, now):
    with pytest.raises(ValidationError, match="past"):
        watchlists.create_watchlist(
            actors.compiler,
            purpose="Standing list",
            now=now,
            intended_start=now - datetime.timedelta(days=365),
            intended_end=now + datetime.timedelta(days=3650),
        )
    with pytest.raises(ValidationError, match="at most"):
        watchlists.create_watchlist(
            actors.compiler,
            purpose="A week",
            now=now,
            intended_start=now + datetime.timedelta(hours=1),
            intended_end=now + datetime.timedelta(days=7),
        )


def test_purge_leaves_only_the_manifest(approved_watchlist):
    watchlist = approved_watchlist()
    entry_id = Entry.objects.get(watchlist=watchlist).pk
    watchlists.sweep(now=watchlist.intended_end + datetime.timedelta(days=2))
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.PURGED
    assert not Entry.history.filter(id=entry_id).exists()
    for kept in Review.objects.filter(watchlist=watchlist):
        assert "EXAMPLE" not in str(kept.snapshot) and "1990-05-17" not in str(kept.snapshot)
    assert watchlists.purge(watchlist) is None  # a second purge does nothing


def test_a_sweep_already_running_makes_another_do_nothing(approved_watchlist):
    from django.db import connections

    watchlist = approved_watchlist()
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [watchlists._SWEEP_LOCK])
        assert watchlists.sweep(now=watchlist.intended_end + datetime.timedelta(days=2)) == []
        assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.APPROVED
    finally:
        other.close()
    assert connection.is_usable()
