"""Crypto-shredding of retrospective stills (issue 26): each search's stills under a data key of its own, destroyed
when the search is closed, by hand or by retention, so no copy of a still (write-ahead log, base backup, replica) can
be read after. The restore of a base backup taken before a closure is in test_crypto_shredding_backup.py."""

import datetime
import importlib

import pytest
from django.apps import apps as django_apps
from django.db import transaction
from django.utils import timezone

from apps.audit import data_keys
from apps.audit.choices import DataKeyOwner
from apps.audit.models import DataKey, Event
from apps.matching.choices import ProbeState, SearchState
from apps.matching.models import Probe, SearchRequest
from apps.matching.services import deletion_evidence, retrospective
from apps.outbox import services as outbox
from apps.oversight import sweep
from govern import data_key_files, encryption
from tests.matching_fixtures import astronaut_subject
from tests.watchlist_fixtures import make_jpeg

pytestmark = pytest.mark.django_db


def _submit(actors, *stills: bytes) -> SearchRequest:
    return retrospective.submit(actors.officer, list(stills), incident_reference="CAD 26/8DEC", crime_type="Robbery")


def _copies(request: SearchRequest) -> dict[int, bytes]:
    """What a copy of the database (the WAL, a base backup, a replica) holds of each still: its ciphertext."""
    return {probe.pk: bytes(probe.ciphertext) for probe in Probe.objects.filter(request=request)}


def _commit(callbacks) -> None:
    """Run what a commit runs here, but the outbox's sending (its VACUUM cannot run in the test's transaction)."""
    for callback in callbacks:
        if getattr(callback, "func", None) is not outbox._after_commit:
            callback()


def _read(probe_id: int, blob: bytes) -> bytes:
    probe = Probe.objects.get(pk=probe_id)
    return encryption.decrypt(blob, associated_data=probe.associated_data())


def test_each_search_s_stills_are_under_a_data_key_of_their_own(keys, actors):
    stills = [make_jpeg(seed=1), make_jpeg(seed=2)]
    first, second = _submit(actors, *stills), _submit(actors, make_jpeg(seed=3))

    key = DataKey.objects.get(owner_kind=DataKeyOwner.SEARCH_STILLS, owner_id=first.pk, destroyed_at=None)
    other = DataKey.objects.get(owner_kind=DataKeyOwner.SEARCH_STILLS, owner_id=second.pk, destroyed_at=None)
    assert key.pk != other.pk and data_key_files.path_of(key.pk).is_file()
    copies = _copies(first)
    assert {encryption.data_key_id(blob) for blob in copies.values()} == {key.pk}
    assert sorted(_read(pk, blob) for pk, blob in copies.items()) == sorted(stills)


def test_a_submission_that_fails_after_its_key_was_made_leaves_only_an_orphan_file_the_sweep_shreds(
    keys, actors, monkeypatch
):
    def fail(*args, **kwargs):
        raise RuntimeError("the broker's outbox refused the search")

    monkeypatch.setattr(retrospective.outbox, "enqueue", fail)
    with pytest.raises(RuntimeError):
        _submit(actors, make_jpeg(seed=1))

    assert not SearchRequest.objects.exists() and not DataKey.objects.exists()
    (orphan,) = data_key_files.key_ids()  # written before its row, which rolled back with the search
    assert data_keys.sweep(now=timezone.now() + data_keys.ORPHAN_GRACE).orphans == [orphan]
    assert not list(data_key_files.key_ids())


def test_closing_the_search_destroys_its_key_and_every_receipt_names_it(
    keys, actors, django_capture_on_commit_callbacks
):
    request = _submit(actors, make_jpeg(seed=4), make_jpeg(seed=5))
    copies = _copies(request)
    key_id = encryption.data_key_id(next(iter(copies.values())))

    with django_capture_on_commit_callbacks() as callbacks:
        retrospective.close(actors.officer, request, reason="Case closed: charged")
    _commit(callbacks)

    assert DataKey.objects.get(pk=key_id).destroyed_at is not None
    assert not data_key_files.path_of(key_id).exists()
    for pk, blob in copies.items():  # a copy from before the closure: its key is gone
        with pytest.raises(encryption.DataKeyDestroyed):
            _read(pk, blob)
    receipts = Event.objects.filter(action="probe.deleted")
    assert sorted(receipt.data["data_key"] for receipt in receipts) == [key_id, key_id]
    assert Event.objects.get(action="search.closed").data["data_key"] == key_id
    (evidence,) = deletion_evidence.evidence_of("search_still")
    assert evidence.data["data_keys_destroyed"] == [key_id]


def test_a_closure_rolled_back_keeps_the_key_and_the_stills(keys, actors, django_capture_on_commit_callbacks):
    request = _submit(actors, make_jpeg(seed=6))
    copies = _copies(request)
    key_id = encryption.data_key_id(next(iter(copies.values())))

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        retrospective.close(actors.officer, request, reason="Case closed")
        raise RuntimeError("the closure fails after the deletion")

    assert DataKey.objects.get(pk=key_id).destroyed_at is None and data_key_files.path_of(key_id).is_file()
    assert [_read(pk, blob) for pk, blob in copies.items()] == [make_jpeg(seed=6)]


def test_retention_closing_a_search_never_closed_destroys_its_key(keys, actors, django_capture_on_commit_callbacks):
    request = _submit(actors, make_jpeg(seed=7))
    copies = _copies(request)
    key_id = encryption.data_key_id(next(iter(copies.values())))
    now = timezone.now()
    SearchRequest.objects.filter(pk=request.pk).update(submitted_at=now - datetime.timedelta(days=91))

    with django_capture_on_commit_callbacks() as callbacks:
        (item,) = sweep.sweep_class("open_searches", 90 * 24, now, dry_run=False)
    _commit(callbacks)

    assert item.outcome == "deleted"
    assert DataKey.objects.get(pk=key_id).destroyed_at is not None and not data_key_files.path_of(key_id).exists()
    for pk, blob in copies.items():
        with pytest.raises(encryption.DataKeyDestroyed):
            _read(pk, blob)
    assert Event.objects.get(action="probe.deleted").data["data_key"] == key_id
    assert Event.objects.get(action="search.closed", target_id=str(request.pk)).data["data_key"] == key_id


@pytest.mark.slow
def test_an_open_search_s_stills_are_searched_and_reviewed_under_their_key(
    keys, actors, api, astronaut, engine_approved
):
    """What reads a still (the search itself) and what shows a search's results (its page and API) work while it
    is open, with the stills under the search's key."""
    subject, image = astronaut_subject(actors.compiler, astronaut, pnc_id="56/000026D")
    assert retrospective.enrol_custody_image(image.pk)
    request = _submit(actors, astronaut)
    assert encryption.data_key_id(bytes(Probe.objects.get(request=request).ciphertext)) is not None

    done = retrospective.run_search(request.pk)

    probe = Probe.objects.get(request=request)
    assert done.state == SearchState.READY and probe.state == ProbeState.SEARCHED
    assert probe.candidates[0]["subject"] == subject.pk
    listed = api(actors.officer).get(f"/api/matching/searches/{request.pk}/")
    assert listed.status_code == 200 and listed.json()["reference"] == request.reference


def test_the_data_migration_moves_stored_stills_under_a_key_per_search_and_back(keys, actors):
    first, second = _submit(actors, make_jpeg(seed=8), make_jpeg(seed=9)), _submit(actors, make_jpeg(seed=10))
    plain = {}
    # As stored before data keys: every still under the ring's key, and no search key yet.
    for probe in Probe.objects.all():
        plain[probe.pk] = _read(probe.pk, bytes(probe.ciphertext))
        legacy = encryption.encrypt(plain[probe.pk], associated_data=probe.associated_data())
        Probe.objects.filter(pk=probe.pk).update(ciphertext=legacy)
    DataKey.objects.filter(owner_kind=DataKeyOwner.SEARCH_STILLS).delete()
    retrospective.close(actors.officer, second, reason="Closed before the upgrade")  # no still left: no key made
    stills = importlib.import_module("apps.matching.migrations.0015_search_stills_under_data_keys")

    stills.under_data_keys(django_apps, None)

    (key,) = DataKey.objects.filter(owner_kind=DataKeyOwner.SEARCH_STILLS)
    assert key.owner_id == first.pk and key.destroyed_at is None
    copies = _copies(first)
    assert {encryption.data_key_id(blob) for blob in copies.values()} == {key.pk}
    assert {pk: _read(pk, blob) for pk, blob in copies.items()} == {pk: plain[pk] for pk in copies}
    stills.under_data_keys(django_apps, None)  # run again: nothing moves twice
    assert DataKey.objects.filter(owner_kind=DataKeyOwner.SEARCH_STILLS).count() == 1

    stills.under_ring_key(django_apps, None)

    copies = _copies(first)
    assert all(blob[:4] == b"GVI1" for blob in copies.values())
    assert {pk: _read(pk, blob) for pk, blob in copies.items()} == {pk: plain[pk] for pk in copies}
    assert not DataKey.objects.filter(owner_kind=DataKeyOwner.SEARCH_STILLS).exists()
