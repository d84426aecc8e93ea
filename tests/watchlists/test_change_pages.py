"""Changing and removing a list's entries and correcting a subject on the pages (issue 23): the API's services and
rules, the revision shown checked, every change logged, bad input refused with nothing changed."""

import datetime

import pytest
from django.urls import reverse

from apps.audit.models import Event
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Entry, Subject, Watchlist
from tests.watchlist_fixtures import JUSTIFICATION

pytestmark = pytest.mark.django_db
REASON = "Correcting tonight's list"


def _entry(draft) -> Entry:
    return Entry.objects.get(watchlist=draft)


def _change(client, entry, revision, **fields):
    body = {"image": entry.image_id, "category": entry.category, "justification": entry.justification, **fields}
    return client.post(f"{reverse('watchlists:entry-change', args=[entry.pk])}?reason={REASON}",
                       {**body, "revision": str(revision)})  # fmt: skip


def test_the_compiler_changes_a_draft_entry_at_the_revision_shown(actors, client, draft):
    entry = _entry(draft)
    client.force_login(actors.compiler)
    page = client.get(reverse("watchlists:entry-change", args=[entry.pk]), {"reason": REASON})
    assert page.status_code == 200 and 'id="save-entry"' in page.content.decode()
    consulted = Event.objects.get(action="record.consulted", reason=REASON)
    assert consulted.data == {"watchlist": draft.pk, "subject": entry.subject_id}
    done = _change(client, entry, draft.revision, justification=JUSTIFICATION + " Warrant re-issued today.")
    assert done.status_code == 302
    assert Entry.objects.get(pk=entry.pk).justification.endswith("re-issued today.")
    event = Event.objects.get(action="watchlist.entry_update")
    assert event.data["changed"] == ["justification"] and event.actor_username == "compiler"
    assert Watchlist.objects.get(pk=draft.pk).revision == draft.revision + 1


def test_a_stale_revision_or_bad_input_changes_nothing(actors, client, draft):
    entry = _entry(draft)
    client.force_login(actors.compiler)
    stale = _change(client, entry, draft.revision - 1, justification=JUSTIFICATION + " Stale.")
    assert stale.status_code == 412 and "changed since you loaded it" in stale.content.decode()
    short = _change(client, entry, draft.revision, justification="too short")
    assert short.status_code == 400
    bad_revision = _change(client, entry, "r1", justification=JUSTIFICATION + " Typed.")
    assert bad_revision.status_code == 400
    assert Entry.objects.get(pk=entry.pk).justification == JUSTIFICATION
    assert not Event.objects.filter(action="watchlist.entry_update").exists()
    assert Watchlist.objects.get(pk=draft.pk).revision == draft.revision


def test_removing_an_entry_needs_the_reason_and_the_current_revision(actors, client, draft):
    entry = _entry(draft)
    client.force_login(actors.compiler)
    url = reverse("watchlists:entry-remove", args=[entry.pk])
    client.post(url, {"reason": "", "revision": str(draft.revision)})
    client.post(url, {"reason": "Arrested", "revision": str(draft.revision - 1)})
    assert Entry.objects.filter(pk=entry.pk).exists() and not Event.objects.filter(action="watchlist.entry_remove")
    done = client.post(url, {"reason": "Arrested yesterday", "revision": str(draft.revision)})
    assert done.status_code == 302 and not Entry.objects.filter(pk=entry.pk).exists()
    assert Event.objects.get(action="watchlist.entry_remove").reason == "Arrested yesterday"


def test_only_a_compiler_changes_or_removes_entries(actors, approvers, client, submitted):
    watchlist, _ = submitted
    entry = _entry(watchlist)
    for person in (approvers.superintendent, actors.privacy, actors.officer, actors.retail):
        client.force_login(person)
        assert client.get(reverse("watchlists:entry-change", args=[entry.pk]), {"reason": REASON}).status_code == 403
        assert _change(client, entry, watchlist.revision, justification=JUSTIFICATION + " X.").status_code == 403
        removed = client.post(reverse("watchlists:entry-remove", args=[entry.pk]), {"reason": "Not mine to do"})
        assert removed.status_code == 403
    assert Entry.objects.filter(pk=entry.pk, justification=JUSTIFICATION).exists()
    assert not Event.objects.filter(action__in=["watchlist.entry_update", "watchlist.entry_remove"]).exists()


def test_an_expired_list_is_not_changed(actors, client, draft):
    entry = _entry(draft)
    Watchlist.objects.filter(pk=draft.pk).update(state=WatchlistState.EXPIRED)  # test set-up: as the sweep leaves it
    client.force_login(actors.compiler)
    refused = _change(client, entry, draft.revision, justification=JUSTIFICATION + " Late.")
    assert refused.status_code == 409 and "can no longer be edited" in refused.content.decode()
    client.post(reverse("watchlists:entry-remove", args=[entry.pk]), {"reason": "Late", "revision": draft.revision})
    assert Entry.objects.get(pk=entry.pk).justification == JUSTIFICATION


def test_a_submitted_list_changed_on_the_page_starts_a_new_draft_version(actors, client, submitted):
    watchlist, _ = submitted
    entry = _entry(watchlist)
    client.force_login(actors.compiler)
    page = client.get(reverse("watchlists:entry-change", args=[entry.pk]), {"reason": REASON}).content.decode()
    assert "a change starts a new version" in page
    _change(client, entry, watchlist.revision, justification=JUSTIFICATION + " Checked again.")
    changed = Watchlist.objects.get(pk=watchlist.pk)
    assert (changed.state, changed.version) == (WatchlistState.DRAFT, watchlist.version + 1)


# --- Subjects ------------------------------------------------------------------------------------------------------


def _subject_body(subject, **fields) -> dict:
    body = {
        "family_name": subject.family_name,
        "given_names": subject.given_names,
        "date_of_birth": subject.date_of_birth.isoformat(),
        "pnc_id": subject.pnc_id,
        "sex": subject.sex,
        "ethnicity": subject.ethnicity,
        "change_reason": "Corrected from the PNC",
    }
    return {**body, **fields}


def test_the_compiler_corrects_a_subject_and_the_history_keeps_the_old_details(actors, client, gallery):
    subject, _image = gallery.adult
    url = f"{reverse('watchlists:subject-change', args=[subject.pk])}?reason={REASON}"
    client.force_login(actors.compiler)
    assert client.get(url).status_code == 200
    done = client.post(url, _subject_body(subject, given_names="Adam James"))
    assert done.status_code == 302 and Subject.objects.get(pk=subject.pk).given_names == "Adam James"
    event = Event.objects.get(action="subject.update")
    assert event.data["changed"] == ["given_names"] and event.reason == "Corrected from the PNC"
    assert subject.history.count() == 2 and subject.history.earliest().given_names == subject.given_names


def test_a_subject_correction_without_a_reason_or_with_a_future_birth_changes_nothing(actors, client, gallery):
    subject, _image = gallery.adult
    url = f"{reverse('watchlists:subject-change', args=[subject.pk])}?reason={REASON}"
    client.force_login(actors.compiler)
    future = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()
    assert client.post(url, _subject_body(subject, date_of_birth=future)).status_code == 400
    assert client.post(url, _subject_body(subject, given_names="Adam J", change_reason="")).status_code == 400
    assert client.post(url, _subject_body(subject)).status_code == 400  # nothing changed
    assert Subject.objects.get(pk=subject.pk).given_names == subject.given_names
    assert not Event.objects.filter(action="subject.update").exists()


def test_only_a_compiler_corrects_a_subject(actors, approvers, client, gallery):
    subject, _image = gallery.adult
    url = f"{reverse('watchlists:subject-change', args=[subject.pk])}?reason={REASON}"
    for person in (approvers.superintendent, actors.privacy, actors.officer):
        client.force_login(person)
        assert client.get(url).status_code == 403
        assert client.post(url, _subject_body(subject, given_names="Someone Else")).status_code == 403
    assert not Event.objects.filter(action__in=["subject.update", "record.consulted"]).exists()
