"""The approval workflow: separation of duties, rank, urgent route and ratification, versions bound by hash."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from apps.audit.models import Event
from apps.watchlists import selectors
from apps.watchlists.choices import ApprovalRoute, Category, ReviewState, WatchlistState
from apps.watchlists.models import Entry, Manifest, Review, Watchlist
from apps.watchlists.services import custody, watchlists
from govern.errors import Conflict
from tests.watchlist_fixtures import JUSTIFICATION, approve_urgently, compile_watchlist, list_person

pytestmark = pytest.mark.django_db


def test_compiler_drafts_and_submits_and_the_version_is_frozen_by_its_hash(actors, submitted):
    watchlist, review = submitted
    assert watchlist.state == WatchlistState.SUBMITTED
    assert review.state == ReviewState.OPEN and review.version == 1
    assert review.content_hash == watchlists.content_hash(watchlists.snapshot(watchlist))
    assert Event.objects.filter(action="watchlist.submit", target_id=str(watchlist.pk)).count() == 1


def test_the_compiler_cannot_approve_even_holding_the_approver_role_and_rank(make_user, gallery, now):
    from govern.roles import Rank, Role

    both = make_user("both", Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT)
    watchlist = compile_watchlist(both, *gallery.adult, now=now)
    review = watchlists.submit(both, watchlist, now=now)
    with pytest.raises(PermissionDenied, match="compiled, edited or submitted"):
        watchlists.approve(both, watchlist, content_hash=review.content_hash, now=now)
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.SUBMITTED
    assert not Event.objects.filter(action="watchlist.approve").exists()


def test_an_editor_of_the_version_cannot_approve_it(make_user, actors, approvers, draft, gallery, now):
    from govern.roles import Rank, Role

    editor = make_user("editor", Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT)
    list_person(editor, draft, *gallery.other, now=now)
    review = watchlists.submit(actors.compiler, draft, now=now)
    with pytest.raises(PermissionDenied, match="compiled, edited or submitted"):
        watchlists.approve(editor, draft, content_hash=review.content_hash, now=now)
    watchlists.approve(approvers.superintendent, draft, content_hash=review.content_hash, now=now)


def test_a_superintendent_approves_and_a_chief_inspector_cannot(approvers, submitted, now):
    watchlist, review = submitted
    with pytest.raises(PermissionDenied, match="Superintendent or above"):
        watchlists.approve(approvers.chief_inspector, watchlist, content_hash=review.content_hash, now=now)
    approved = watchlists.approve(approvers.superintendent, watchlist, content_hash=review.content_hash, now=now)
    assert approved.state == WatchlistState.APPROVED
    assert approved.approved_hash == review.content_hash == watchlists.content_hash(review.snapshot)
    assert approved.approval_route == ApprovalRoute.STANDARD
    assert watchlists.in_force(approved, now)
    assert not watchlists.in_force(approved, approved.intended_end)
    assert Event.objects.filter(action="watchlist.approve").count() == 1


def test_other_roles_cannot_approve(actors, submitted, now):
    watchlist, review = submitted
    for user in (actors.officer, actors.privacy, actors.admin, actors.compiler):
        with pytest.raises(PermissionDenied):
            watchlists.approve(user, watchlist, content_hash=review.content_hash, now=now)


def test_an_inspectors_urgent_approval_needs_a_reason_and_lapses_unless_ratified(approvers, submitted, now, settings):
    settings.URGENT_RATIFICATION_HOURS = 2
    watchlist, review = submitted
    with pytest.raises(PermissionDenied):
        watchlists.approve(approvers.inspector, watchlist, content_hash=review.content_hash, now=now)
    with pytest.raises(ValidationError, match="reason"):
        watchlists.approve(
            approvers.inspector, watchlist, content_hash=review.content_hash, route=ApprovalRoute.URGENT, now=now
        )
    approved = approve_urgently(approvers.inspector, watchlist, review.content_hash, now=now)
    assert approved.ratify_by == now + datetime.timedelta(hours=settings.URGENT_RATIFICATION_HOURS)
    assert watchlists.in_force(approved, now + datetime.timedelta(hours=1))

    later = approved.ratify_by + datetime.timedelta(minutes=1)
    assert not watchlists.in_force(approved, later)  # never honoured past the deadline, even before the sweep runs
    assert watchlists.sweep(now=later, dry_run=True)[0].action == "lapse"
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.APPROVED  # dry run changed nothing
    watchlists.sweep(now=later)
    lapsed = Watchlist.objects.get(pk=watchlist.pk)
    assert lapsed.state == WatchlistState.SUBMITTED and not watchlists.in_force(lapsed, later)
    assert Review.objects.get(watchlist=lapsed, state=ReviewState.LAPSED).decided_by == approvers.inspector
    assert Event.objects.filter(action="watchlist.approval_lapsed").count() == 1
    assert watchlists.sweep(now=later) == []  # idempotent


def test_ratification_in_time_keeps_the_urgent_approval(approvers, submitted, now, settings):
    settings.URGENT_RATIFICATION_HOURS = 4
    watchlist, review = submitted
    approved = approve_urgently(approvers.inspector, watchlist, review.content_hash, now=now)
    with pytest.raises(PermissionDenied, match="Superintendent"):
        watchlists.ratify(approvers.chief_inspector, approved, now=now)
    ratified = watchlists.ratify(approvers.superintendent, approved, now=now + datetime.timedelta(hours=1))
    assert ratified.ratified_by == approvers.superintendent
    watchlists.sweep(now=now + datetime.timedelta(hours=5))
    assert watchlists.in_force(Watchlist.objects.get(pk=watchlist.pk), now + datetime.timedelta(hours=5))


def test_editing_an_approved_list_starts_a_new_version_that_needs_approval_again(
    actors, approvers, approved_watchlist, gallery, now
):
    watchlist = approved_watchlist()
    first_hash = watchlist.approved_hash
    list_person(
        actors.compiler,
        watchlist,
        *gallery.other,
        category=Category.WANTED_FOR_OFFENCE,
        offence="Robbery, Theft Act 1968 s.8",
        now=now,
    )
    edited = Watchlist.objects.get(pk=watchlist.pk)
    assert (edited.state, edited.version, edited.approved_hash, edited.approved_by) == (
        WatchlistState.DRAFT,
        2,
        "",
        None,
    )
    assert not watchlists.in_force(edited, now)
    with pytest.raises(Conflict):
        watchlists.approve(approvers.superintendent2, edited, content_hash=first_hash, now=now)
    new_review = watchlists.submit(actors.compiler, edited, now=now)
    assert new_review.content_hash != first_hash
    with pytest.raises(Conflict, match="changed since you reviewed"):
        watchlists.approve(approvers.superintendent2, edited, content_hash=first_hash, now=now)
    approved = watchlists.approve(approvers.superintendent2, edited, content_hash=new_review.content_hash, now=now)
    assert approved.approved_version == 2
    assert approved.approved_hash == watchlists.content_hash(watchlists.snapshot(approved))
    diff = watchlists.changes_since_approval(approved, new_review.snapshot)
    assert diff["previous_version"] == 1
    assert [entry["name"] for entry in diff["added"]] == ["SAMPLE, Ben"]


def test_an_edit_while_submitted_withdraws_the_review(actors, submitted, gallery, now):
    watchlist, review = submitted
    entry = Entry.objects.get(watchlist=watchlist)
    watchlists.update_entry(actors.compiler, entry, justification=JUSTIFICATION + " Re-checked today.", now=now)
    assert Review.objects.get(pk=review.pk).state == ReviewState.WITHDRAWN
    assert Watchlist.objects.get(pk=watchlist.pk).version == 2


def test_return_for_changes_needs_a_comment_and_the_compiler_resubmits(actors, approvers, submitted, now):
    watchlist, _review = submitted
    with pytest.raises(ValidationError):
        watchlists.return_for_changes(approvers.superintendent, watchlist, comment=" ", now=now)
    watchlists.return_for_changes(approvers.superintendent, watchlist, comment="Use a more recent image.", now=now)
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.RETURNED
    again = watchlists.submit(actors.compiler, Watchlist.objects.get(pk=watchlist.pk), now=now)
    assert again.version == 2 and again.state == ReviewState.OPEN


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"justification": ""}, "justification"),
        ({"justification": "because"}, "justification"),
        ({"category": "anyone_of_interest"}, "category"),
        ({"category": "associate"}, "category"),
        ({"category": Category.WANTED_FOR_OFFENCE}, "offence"),
        ({"category": Category.COURT_ORDER_OR_BAIL}, "order_details"),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_stored_or_logged(actors, draft, gallery, now, changes, field):
    entries, events = Entry.objects.count(), Event.objects.count()
    with pytest.raises(ValidationError) as refused:
        list_person(actors.compiler, draft, *gallery.other, now=now, **changes)
    assert field in refused.value.message_dict
    assert (Entry.objects.count(), Event.objects.count()) == (entries, events)


def test_an_under_18_needs_a_risk_of_harm_rationale(actors, draft, gallery, now):
    with pytest.raises(ValidationError) as refused:
        list_person(actors.compiler, draft, *gallery.child, category=Category.MISSING_AT_RISK, now=now)
    assert "under_18_rationale" in refused.value.message_dict
    list_person(
        actors.compiler,
        draft,
        *gallery.child,
        category=Category.MISSING_AT_RISK,
        under_18_rationale="Missing from care for 3 days; believed exploited; at immediate risk.",
        now=now,
    )


def test_an_image_of_another_subject_is_refused(actors, draft, gallery, now):
    subject, _ = gallery.other
    _, image = gallery.adult
    with pytest.raises(ValidationError, match="another subject"):
        list_person(actors.compiler, draft, subject, image, now=now)


def test_compiling_outside_the_window_is_refused(actors, now):
    events = Event.objects.count()
    with pytest.raises(ValidationError, match="within 24 hours"):
        watchlists.create_watchlist(
            actors.compiler,
            purpose="Next week's match",
            intended_start=now + datetime.timedelta(days=7),
            intended_end=now + datetime.timedelta(days=7, hours=6),
            now=now,
        )
    with pytest.raises(ValidationError, match="end must be after"):
        watchlists.create_watchlist(
            actors.compiler,
            purpose="Backwards",
            intended_start=now,
            intended_end=now - datetime.timedelta(hours=1),
            now=now,
        )
    assert not Watchlist.objects.exists() and Event.objects.count() == events


def test_edits_after_the_end_are_refused(actors, draft, gallery, now):
    with pytest.raises(ValidationError, match="ended"):
        list_person(actors.compiler, draft, *gallery.other, now=draft.intended_end)


def test_stale_images_are_flagged(gallery, settings):
    _, image = gallery.adult
    settings.WATCHLIST_IMAGE_MAX_AGE_DAYS = 30
    assert custody.image_is_stale(image, on=image.captured_on + datetime.timedelta(days=31))
    assert not custody.image_is_stale(image, on=image.captured_on + datetime.timedelta(days=29))


def test_expiry_and_purge_keep_a_manifest_without_biometrics(approved_watchlist, settings):
    watchlist = approved_watchlist()  # approved by the superintendent "supt"
    at_end = watchlist.intended_end
    watchlists.sweep(now=at_end)
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.EXPIRED
    after_window = at_end + datetime.timedelta(hours=settings.WATCHLIST_PURGE_AFTER_HOURS, minutes=1)
    actions = watchlists.sweep(now=after_window)
    assert [a.action for a in actions] == ["purge"]
    purged = Watchlist.objects.get(pk=watchlist.pk)
    assert purged.state == WatchlistState.PURGED and not purged.entries.exists()
    manifest = Manifest.objects.get(watchlist=purged)
    assert manifest.data["listed"][0]["name"] == "EXAMPLE, Adam"
    assert manifest.data["approvals"][0]["approved_by"] == "supt"
    assert "image_sha256" not in str(manifest.data) and "ciphertext" not in str(manifest.data)


def test_reading_an_image_logs_the_consultation_with_the_reason(actors, gallery):
    _, image = gallery.adult
    with pytest.raises(Exception, match="reason"):
        selectors.image_content(actors.compiler, image, reason="")
    content = selectors.image_content(actors.compiler, image, reason="Checking the likeness for WL-2026-0001")
    assert content[:3] == b"\xff\xd8\xff"
    event = Event.objects.get(action="record.consulted", target_type="watchlists.custodyimage")
    assert (event.actor_username, event.reason) == ("compiler", "Checking the likeness for WL-2026-0001")
    with pytest.raises(PermissionDenied):
        selectors.image_content(actors.officer, image, reason="curious")


def test_images_are_encrypted_at_rest(gallery):
    from apps.watchlists.models import CustodyImage

    _, image = gallery.adult
    stored = bytes(CustodyImage.objects.get(pk=image.pk).ciphertext)
    # Under the subject's data key (crypto-shredding: tests/security/test_crypto_shredding.py), no JPEG in sight.
    assert stored[:4] == b"GVD1" and b"\xff\xd8\xff" not in stored


@pytest.mark.django_db(transaction=True)
def test_two_commanders_approving_at_once_one_wins_one_gets_a_conflict(actors, approvers, submitted, now):
    watchlist, review = submitted
    barrier = threading.Barrier(2)
    outcomes = {}

    def act(name, approver):
        try:
            barrier.wait()
            watchlists.approve(
                approver, Watchlist.objects.get(pk=watchlist.pk), content_hash=review.content_hash, now=now
            )
            outcomes[name] = "approved"
        except Conflict:
            outcomes[name] = "conflict"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=(n, a))
        for n, a in (("first", approvers.superintendent), ("second", approvers.superintendent2))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["approved", "conflict"]
    assert Event.objects.filter(action="watchlist.approve").count() == 1
    assert Review.objects.filter(watchlist=watchlist, state=ReviewState.APPROVED).count() == 1


def test_the_sweep_command_has_a_dry_run(approved_watchlist, now):
    from io import StringIO

    from django.core.management import call_command

    watchlist = approved_watchlist()
    Watchlist.objects.filter(pk=watchlist.pk).update(
        intended_start=now - datetime.timedelta(days=3), intended_end=now - datetime.timedelta(days=2)
    )
    out = StringIO()
    call_command("watchlists_sweep", "--dry-run", stdout=out)
    assert "would expire" in out.getvalue() and "would purge" in out.getvalue()
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.APPROVED
    call_command("watchlists_sweep", stdout=StringIO())
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.PURGED
    out = StringIO()
    call_command("watchlists_sweep", stdout=out)
    assert "0 action(s)" in out.getvalue()


def test_every_edit_event_carries_the_version_and_its_hash(actors, draft):
    event = Event.objects.filter(action="watchlist.entry_add", target_id=str(draft.pk)).get()
    assert event.data["version"] == 1
    assert event.data["content_hash"] == watchlists.content_hash(watchlists.snapshot(draft))


def test_the_database_allows_one_open_review_per_watchlist(actors, submitted, now):
    from django.db import IntegrityError, transaction

    watchlist, review = submitted
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(
            watchlist=watchlist,
            version=watchlist.version,
            content_hash=review.content_hash,
            snapshot=review.snapshot,
            submitted_by=actors.compiler,
            submitted_at=now,
        )


def test_the_database_refuses_an_approved_state_without_the_approved_hash(submitted):
    from django.db import IntegrityError, transaction

    watchlist, _ = submitted
    with pytest.raises(IntegrityError), transaction.atomic():
        Watchlist.objects.filter(pk=watchlist.pk).update(state=WatchlistState.APPROVED)


def test_a_date_of_birth_in_year_one_or_in_the_future_is_refused(actors):
    """Issue 20, item 10: 0001-01-01 and dates in the future were accepted."""
    import datetime

    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from apps.watchlists.services import custody

    for born in (
        datetime.date(1, 1, 1),
        datetime.date(1899, 12, 31),
        timezone.localdate() + datetime.timedelta(days=1),
    ):
        with pytest.raises(ValidationError, match="date of birth"):
            custody.create_subject(
                actors.compiler, family_name="Doe", given_names="J", date_of_birth=born, pnc_id="01/000001A"
            )
