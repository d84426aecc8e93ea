"""Erasing a subject or a custody image reaches every copy, with receipts, for privacy officers only (issue 26, 2)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from apps.audit.models import Event
from apps.matching.choices import Biometric
from apps.matching.models import Probe, SearchRequest, WatchlistTemplate
from apps.matching.services import custody_erasure
from apps.matching.services.deletion_evidence import evidence_of
from apps.matching.services.enrolment import generation
from apps.outbox.models import Message
from apps.watchlists.choices import LegalBasis, ReviewState, WatchlistState
from apps.watchlists.models import CustodyImage, Entry, Manifest, Review, Subject, SubjectRestriction, Watchlist
from apps.watchlists.services import custody, erasure, restriction, watchlists
from govern.errors import Conflict
from tests.watchlist_fixtures import compile_watchlist, list_person, make_jpeg

pytestmark = pytest.mark.django_db
REASON = "Erasure request DSR-1 granted: never charged"
PERSONAL = ("Example", "Adam", "90/123456A", "1990-05-17")


def _events_since(seq: int):
    return Event.objects.filter(seq__gt=seq).order_by("seq")


def _head() -> int:
    return Event.objects.order_by("-seq").values_list("seq", flat=True).first()


def test_erasing_a_subject_reaches_lists_snapshots_history_and_leaves_receipts_without_their_data(
    actors, gallery, approved_watchlist, now
):
    adult, image = gallery.adult
    other, other_image = gallery.other
    custody.update_subject(actors.compiler, adult, reason="Sex recorded wrongly at intake", sex="not_stated")
    approved = approved_watchlist()
    draft = compile_watchlist(actors.compiler, other, other_image, now=now)
    list_person(actors.compiler, draft, adult, image, now=now)
    restriction.restrict(actors.privacy, adult, grounds="Accuracy contested by the person", request_reference="DSR-0")
    before = _head()

    done = erasure.delete_subject(actors.privacy, adult.pk, reason=REASON, now=now)

    assert not Subject.objects.filter(pk=adult.pk).exists() and not CustodyImage.objects.filter(pk=image.pk).exists()
    assert not Entry.objects.filter(subject_id=adult.pk).exists()
    assert not Subject.history.filter(id=adult.pk).exists()
    assert not Entry.history.filter(subject_id=adult.pk).exists()
    assert not SubjectRestriction.objects.exists() and not SubjectRestriction.history.exists()
    approved.refresh_from_db()
    draft.refresh_from_db()
    assert approved.state == WatchlistState.DRAFT and approved.version == 2 and not approved.approved_hash
    assert draft.state == WatchlistState.DRAFT and list(draft.entries.values_list("subject", flat=True)) == [other.pk]
    assert sorted(done.lists_changed) == sorted([approved.pk, draft.pk]) and done.images == 1
    review = Review.objects.get(watchlist=approved, state=ReviewState.APPROVED)
    assert review.snapshot["entries"] == [{"subject": adult.pk, "category": "wanted_by_courts", "erased": True}]
    actions = [event.action for event in _events_since(before)]
    assert actions.count("watchlist.entry_erase") == 2 and actions[-1] == "subject.erase"
    assert {"custody_template.erase", "templates.erase", "watchlist.new_version"} <= set(actions)
    receipt = Event.objects.get(seq=done.seq)
    assert receipt.data["images"] == [erasure.audit.commitment(image.sha256)] and receipt.data["history_rows"] >= 4
    written = " ".join(event.canonical for event in _events_since(before))
    assert not any(value in written for value in PERSONAL)


def test_a_purge_manifest_keeps_only_the_erased_persons_number_and_category(actors, gallery, now):
    adult, image = gallery.adult
    watchlist = compile_watchlist(actors.compiler, adult, image, now=now)
    Watchlist.objects.filter(pk=watchlist.pk).update(state=WatchlistState.EXPIRED)
    manifest = watchlists.purge(watchlist)
    assert manifest.data["listed"][0]["pnc_id"] == "90/123456A"
    erasure.delete_subject(actors.privacy, adult.pk, reason=REASON)
    manifest.refresh_from_db()
    assert manifest.data["listed"] == [{"subject": adult.pk, "category": "wanted_by_courts", "erased": True}]
    assert Manifest.objects.get(pk=manifest.pk).listed_count == 1


def test_an_expired_list_not_yet_purged_loses_the_entry_without_a_new_version(actors, gallery, now):
    adult, image = gallery.adult
    watchlist = compile_watchlist(actors.compiler, adult, image, now=now)
    Watchlist.objects.filter(pk=watchlist.pk).update(state=WatchlistState.EXPIRED)
    erasure.delete_subject(actors.privacy, adult.pk, reason=REASON)
    watchlist.refresh_from_db()
    assert watchlist.state == WatchlistState.EXPIRED and watchlist.version == 1 and not watchlist.entries.exists()
    assert "Example" not in str(watchlists.purge(watchlist).data)


def test_erasing_one_image_takes_its_entries_off_lists_and_keeps_the_subject(actors, gallery, approved_watchlist):
    adult, image = gallery.adult
    approved = approved_watchlist()
    done = erasure.delete_custody_image(actors.privacy, image.pk, reason=REASON)
    approved.refresh_from_db()
    assert Subject.objects.filter(pk=adult.pk).exists() and not CustodyImage.objects.filter(pk=image.pk).exists()
    assert approved.state == WatchlistState.DRAFT and not approved.entries.exists()
    assert done.lists_changed == [approved.pk]
    assert Event.objects.get(seq=done.seq).action == "custody_image.erase"


def test_erasing_again_changes_nothing(actors, gallery):
    adult, image = gallery.adult
    erasure.delete_subject(actors.privacy, adult.pk, reason=REASON)
    before = _head()
    assert erasure.delete_subject(actors.privacy, adult.pk, reason=REASON) is None
    assert erasure.delete_custody_image(actors.privacy, image.pk, reason=REASON) is None
    assert _head() == before


def test_only_a_privacy_officer_erases_and_with_a_reason(actors, gallery):
    adult, image = gallery.adult
    before = _head()
    for someone in (actors.compiler, actors.commander, actors.officer, actors.oversight, actors.admin, actors.outsider):
        with pytest.raises(PermissionDenied):
            erasure.delete_subject(someone, adult.pk, reason=REASON)
        with pytest.raises(PermissionDenied):
            erasure.delete_custody_image(someone, image.pk, reason=REASON)
    with pytest.raises(ValidationError):
        erasure.delete_subject(actors.privacy, adult.pk, reason=" ")
    assert _head() == before and Subject.objects.filter(pk=adult.pk).exists()


def test_evidence_held_refuses_the_erasure_and_changes_nothing(actors, gallery, approved_watchlist):
    adult, image = gallery.adult
    approved = approved_watchlist()
    search = SearchRequest.objects.create(
        reference="RFR-1", submitted_by=actors.officer, incident_reference="CAD 1", crime_type="Theft"
    )
    Probe.objects.create(request=search, position=0, sha256="0" * 64, chosen_subject=adult)
    before = _head()
    with pytest.raises(Conflict, match=r"s\.47\(2\)"):
        erasure.delete_subject(actors.privacy, adult.pk, reason=REASON)
    approved.refresh_from_db()
    assert approved.state == WatchlistState.APPROVED and CustodyImage.objects.filter(pk=image.pk).exists()
    assert _head() == before


# --- The surfaces ------------------------------------------------------------------------------------------------


def test_the_page_erases_for_a_privacy_officer_and_refuses_everyone_else(client, actors, gallery):
    adult, image = gallery.adult
    for someone in (actors.compiler, actors.commander, actors.officer, actors.admin):
        client.force_login(someone)
        assert client.get(f"/watchlists/subjects/{adult.pk}/erase/").status_code == 403
        assert client.post(f"/watchlists/subjects/{adult.pk}/erase/", {"reason": REASON}).status_code == 403
        assert client.post(f"/watchlists/images/{image.pk}/erase/", {"reason": REASON}).status_code == 403
    assert Subject.objects.filter(pk=adult.pk).exists()
    client.force_login(actors.privacy)
    page = client.get(f"/watchlists/subjects/{adult.pk}/erase/")
    assert page.status_code == 200 and b"Example" not in page.content
    assert client.post(f"/watchlists/subjects/{adult.pk}/erase/", {"reason": ""}).status_code == 400
    assert client.post(f"/watchlists/subjects/{adult.pk}/erase/", {"reason": REASON}).status_code == 302
    assert not Subject.objects.filter(pk=adult.pk).exists()
    assert client.get(f"/watchlists/subjects/{adult.pk}/erase/").status_code == 404


def test_the_api_erases_for_a_privacy_officer_and_refuses_everyone_else(api, actors, gallery):
    adult, image = gallery.adult
    other, _ = gallery.other
    for someone in (actors.compiler, actors.commander, actors.officer, actors.admin):
        answer = api(someone).post(f"/api/watchlists/erasures/subjects/{adult.pk}/", {"reason": REASON}, format="json")
        assert answer.status_code == 403
    assert api(None).post(f"/api/watchlists/erasures/images/{image.pk}/", {"reason": REASON}).status_code == 401
    privacy = api(actors.privacy)
    assert privacy.post(f"/api/watchlists/erasures/subjects/{adult.pk}/", {}, format="json").status_code == 400
    answer = privacy.post(f"/api/watchlists/erasures/subjects/{adult.pk}/", {"reason": REASON}, format="json")
    assert answer.status_code == 200 and answer.json()["erased"] and answer.json()["images"] == 1
    again = privacy.post(f"/api/watchlists/erasures/subjects/{adult.pk}/", {"reason": REASON}, format="json")
    assert again.json() == {"erased": False, "receipt": None, "images": 0, "lists_changed": []}
    image_of_other = other.images.get()
    answer = privacy.post(f"/api/watchlists/erasures/images/{image_of_other.pk}/", {"reason": REASON}, format="json")
    assert answer.status_code == 200 and not CustodyImage.objects.filter(pk=image_of_other.pk).exists()


def test_the_command_erases_as_a_privacy_officer_only(actors, gallery, capsys):
    adult, _ = gallery.adult
    with pytest.raises(CommandError, match="role"):
        call_command("watchlists_erase", "subject", str(adult.pk), "--as", "compiler", "--reason", REASON)
    with pytest.raises(CommandError):
        call_command("watchlists_erase", "subject", str(adult.pk), "--as", "privacy", "--reason", "no")
    assert Subject.objects.filter(pk=adult.pk).exists()
    call_command("watchlists_erase", "subject", str(adult.pk), "--as", "privacy", "--reason", REASON)
    assert "receipt: audit event" in capsys.readouterr().out and not Subject.objects.filter(pk=adult.pk).exists()
    call_command("watchlists_erase", "subject", str(adult.pk), "--as", "privacy", "--reason", REASON)
    assert "Nothing changed" in capsys.readouterr().out


def test_pending_enrolments_and_watchlist_templates_go_with_the_person(actors, gallery, approved_watchlist):
    adult, image = gallery.adult
    approved = approved_watchlist()
    enrolment = Message.objects.filter(task=custody_erasure.ENROL_TASK, args=[image.pk], sent_at__isnull=True)
    assert enrolment.exists()  # queued at upload; in a test nothing commits, so nothing sent it
    WatchlistTemplate.objects.create(
        watchlist=approved, approved_hash=approved.approved_hash, entry=approved.entries.get(), subject=adult,
        embedding=[0.1] * 512, engine="facenet", weights_sha256="0" * 64,
    )  # fmt: skip
    erasure.delete_subject(actors.privacy, adult.pk, reason=REASON)
    assert not enrolment.exists() and not WatchlistTemplate.objects.filter(subject_id=adult.pk).exists()
    # The template was made from the person's image: it goes with the image, before their remaining templates.
    assert Event.objects.get(action="templates.erase").data["watchlist_templates"] == 0
    receipt = Event.objects.get(action="custody_template.erase").data
    assert receipt["enrolments_withdrawn"] == 1
    assert receipt["watchlist_templates"] == 1 and receipt["watchlists"] == [approved.pk]


def _template(watchlist, entry):
    return WatchlistTemplate.objects.create(
        watchlist=watchlist, approved_hash=watchlist.approved_hash, entry=entry, subject=entry.subject,
        embedding=[0.1] * 512, engine="facenet", weights_sha256="0" * 64,
    )  # fmt: skip


def test_erasing_one_image_deletes_the_watchlist_templates_made_from_it(actors, gallery, approved_watchlist):
    adult, image = gallery.adult
    kept = custody.upload_image(
        actors.compiler, adult, make_jpeg(seed=99), captured_on=datetime.date(2026, 4, 1),
        source_system="Custody suite A", legal_basis=LegalBasis.PACE_CUSTODY,
    )  # fmt: skip
    approved = approved_watchlist()
    made = _template(approved, approved.entries.get(image=image))
    before = generation(approved.pk)

    erasure.delete_custody_image(actors.privacy, image.pk, reason=REASON)

    # Without this the template stayed, its entry set to null, until the list was purged.
    assert not WatchlistTemplate.objects.filter(pk=made.pk).exists()
    assert Subject.objects.filter(pk=adult.pk).exists() and CustodyImage.objects.filter(pk=kept.pk).exists()
    assert generation(approved.pk) == before + 1  # every worker holding the list drops it
    evidence = evidence_of(Biometric.WATCHLIST_TEMPLATE).get()
    assert evidence.data["ids"] == [made.pk] and evidence.target_id == str(adult.pk)
