"""Crypto-shredding (issue 26, point 5): each subject's custody images and each alert's probe under a data key of
their own, kept in a file outside the database and wrapped by the image key ring; destroying the key makes every
copy of them unreadable.

Each test points the key files and the data key store at a fresh directory, so a rotation here never touches the
suite's own keys. The restore of a base backup taken before a deletion is in test_crypto_shredding_backup.py.
"""

import datetime
import importlib
import io
import os

import psycopg
import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from apps.audit import data_keys
from apps.audit.choices import DataKeyOwner
from apps.audit.models import DataKey, Event
from apps.matching import selectors as matching_selectors
from apps.matching.models import Alert
from apps.matching.services import alert_handling, live_capture
from apps.watchlists.choices import LegalBasis
from apps.watchlists.models import CustodyImage
from apps.watchlists.services import image_keys
from govern import data_key_files, encryption, uploads
from tests.watchlist_fixtures import make_jpeg

pytestmark = pytest.mark.django_db


def _sealed_image(actors, subject, seed: int) -> tuple[CustodyImage, bytes]:
    """A custody image stored as the upload stores it once it seals under the subject's key."""
    checked = uploads.validate_image(make_jpeg(seed=seed))
    image = CustodyImage(
        subject=subject,
        captured_on=datetime.date(2026, 3, 1),
        source_system="Custody suite A",
        legal_basis=LegalBasis.PACE_CUSTODY,
        uploaded_by=actors.compiler,
        content_type=checked.content_type,
        width=checked.width,
        height=checked.height,
        size_bytes=len(checked.content),
        sha256=checked.sha256,
    )
    image_keys.seal(image, checked.content)
    image.save()
    return image, checked.content


def _read(image: CustodyImage, blob: bytes | None = None) -> bytes:
    blob = bytes(image.ciphertext) if blob is None else blob
    return encryption.decrypt(blob, associated_data=image.associated_data())


def test_a_subjects_images_share_one_data_key_and_die_with_it(
    keys, actors, gallery, django_capture_on_commit_callbacks
):
    subject, other = gallery.adult[0], gallery.other[0]
    (first, first_bytes), (second, second_bytes) = (_sealed_image(actors, subject, seed) for seed in (1, 2))
    (elsewhere, elsewhere_bytes) = _sealed_image(actors, other, 3)

    assert first.key_id == second.key_id != elsewhere.key_id
    assert bytes(first.ciphertext)[:4] == b"GVD1" and encryption.data_key_id(bytes(first.ciphertext)) == first.key_id
    key = DataKey.objects.get(pk=first.key_id)
    assert (key.owner_kind, key.owner_id) == (DataKeyOwner.SUBJECT_IMAGES, subject.pk)
    key_file = keys / "data-keys" / key.pk[:2] / f"{key.pk}.key"
    assert key_file.read_bytes()[:12] == b"GVI1" + bytes.fromhex(encryption.key_id())  # wrapped by the ring's key
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert (_read(first), _read(second)) == (first_bytes, second_bytes)

    with django_capture_on_commit_callbacks(execute=True):
        destroyed = image_keys.destroy_subject_key(subject)

    assert destroyed == first.key_id
    key.refresh_from_db()
    assert key.destroyed_at is not None and not key_file.exists()
    for image in (first, second):
        with pytest.raises(encryption.DataKeyDestroyed, match=f"data key {destroyed} was destroyed"):
            _read(image)
    assert _read(elsewhere) == elsewhere_bytes  # another subject's key is untouched
    assert image_keys.destroy_subject_key(subject) is None  # nothing left to destroy
    # A new image of the same subject gets a new key.
    later, _ = _sealed_image(actors, subject, 4)
    assert later.key_id not in (destroyed, elsewhere.key_id)


def test_one_image_deleted_the_rest_are_rekeyed_and_its_copies_die(keys, actors, gallery):
    subject = gallery.adult[0]
    (kept, kept_bytes), (deleted, _) = (_sealed_image(actors, subject, seed) for seed in (5, 6))
    copy_of_deleted = bytes(deleted.ciphertext)  # as a base backup or the write-ahead log still holds it
    deleted.delete()

    old_key = image_keys.rekey_subject(subject)

    assert old_key == deleted.key_id
    kept.refresh_from_db()
    assert kept.key_id != old_key and _read(kept) == kept_bytes
    with pytest.raises(encryption.DataKeyDestroyed):
        _read(deleted, copy_of_deleted)


def test_a_ring_rotation_rewraps_the_data_keys_and_leaves_the_images_alone(keys, actors, gallery):
    image, content = _sealed_image(actors, gallery.adult[0], 7)
    blob_before = bytes(image.ciphertext)
    old_ring = encryption.key_id()

    call_command("rotate_secret", "image", "--reason", "Annual rotation", stdout=io.StringIO())

    image.refresh_from_db()
    assert bytes(image.ciphertext) == blob_before and _read(image) == content  # the data was not re-encrypted
    assert data_key_files.wrapped_by(image.key_id) == encryption.key_id() != old_ring  # the data key was re-wrapped
    assert old_ring not in encryption.ring_key_ids()  # and the old ring key, which nothing needs, destroyed


@pytest.mark.slow
def test_the_retention_sweep_destroys_the_probes_key_and_the_receipt_names_it(
    actors, approvers, live, vans, astronaut, settings
):
    settings.ALERT_FALSE_RETENTION_DAYS = 30
    alert = Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0])
    copy_of_probe = bytes(alert.probe_ciphertext)
    key = DataKey.objects.get(owner_kind=DataKeyOwner.ALERT_PROBE, owner_id=alert.pk)
    assert encryption.data_key_id(copy_of_probe) == key.pk
    assert matching_selectors.probe_image(actors.officer, alert, reason="Judging the alert")[:2] == b"\xff\xd8"
    alert_handling.adjudicate(actors.officer, alert, match=False, reason="Different person: older, taller")

    assert alert_handling.retention_sweep(now=timezone.now() + datetime.timedelta(days=31)) == [alert.pk]

    receipt = Event.objects.get(action="alert.probe_deleted", target_id=str(alert.pk))
    assert receipt.data["data_key"] == key.pk
    key.refresh_from_db()
    assert key.destroyed_at is not None
    with pytest.raises(encryption.DataKeyDestroyed):
        encryption.decrypt(copy_of_probe, associated_data=alert.associated_data())


def test_the_data_migrations_move_stored_images_and_probes_under_data_keys_and_back(actors, gallery):
    image = gallery.adult[1]
    content = _read(image)
    # As stored before data keys: every image under the ring's key, and no data key yet.
    for stored in CustodyImage.objects.all():
        plain = _read(stored)
        legacy = encryption.encrypt(plain, associated_data=stored.associated_data())
        CustodyImage.objects.filter(pk=stored.pk).update(ciphertext=legacy, key_id=encryption.key_id())
    DataKey.objects.all().delete()
    images = importlib.import_module("apps.watchlists.migrations.0008_custody_images_under_data_keys")
    probes = importlib.import_module("apps.matching.migrations.0011_alert_probes_under_data_keys")

    images.under_data_keys(django_apps, None)
    probes.under_data_keys(django_apps, None)

    image.refresh_from_db()
    key = DataKey.objects.get(owner_kind=DataKeyOwner.SUBJECT_IMAGES, owner_id=image.subject_id)
    assert image.key_id == key.pk == encryption.data_key_id(bytes(image.ciphertext)) and _read(image) == content

    images.under_ring_key(django_apps, None)
    probes.under_ring_key(django_apps, None)

    image.refresh_from_db()
    assert bytes(image.ciphertext)[:4] == b"GVI1" and image.key_id == encryption.key_id() and _read(image) == content
    assert not DataKey.objects.filter(destroyed_at=None).exists()


def test_a_destruction_rolled_back_keeps_the_key_and_its_file(
    keys, actors, gallery, django_capture_on_commit_callbacks
):
    image, content = _sealed_image(actors, gallery.adult[0], 8)
    key_file = data_key_files.path_of(image.key_id)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        image_keys.destroy_subject_key(image.subject)
        raise RuntimeError("the deletion fails midway")

    assert key_file.is_file() and DataKey.objects.get(pk=image.key_id).destroyed_at is None
    assert _read(image) == content


def test_the_sweep_shreds_destroyed_keys_files_and_old_orphans_and_nothing_else(keys, actors, gallery):
    live, live_bytes = _sealed_image(actors, gallery.adult[0], 9)
    crashed, _ = _sealed_image(actors, gallery.other[0], 10)
    image_keys.destroy_subject_key(crashed.subject)  # committed, but the process died before the file was shredded
    orphan_id, material = encryption.new_data_key()
    data_key_files.create(orphan_id, material)  # its transaction rolled back (or died) after the file was written
    stored = {live.key_id, crashed.key_id, orphan_id}
    others = set(data_key_files.key_ids()) - stored  # the gallery's subjects' keys, live, left alone throughout
    assert stored <= set(data_key_files.key_ids())

    now = timezone.now()
    young = data_keys.sweep(now=now)  # an orphan this young may be a key whose row is on its way: left alone
    assert (young.destroyed, young.orphans) == ([crashed.key_id], [])
    assert set(data_key_files.key_ids()) == {live.key_id, orphan_id} | others

    later = now + data_keys.ORPHAN_GRACE
    assert data_keys.sweep(now=later, dry_run=True).orphans == [orphan_id]
    assert orphan_id in set(data_key_files.key_ids())  # a dry run shreds nothing
    assert data_keys.sweep(now=later).orphans == [orphan_id]

    assert set(data_key_files.key_ids()) == {live.key_id} | others and _read(live) == live_bytes
    assert not DataKey.objects.filter(pk=orphan_id).exists()  # the sweep's claim on the id was rolled back
    swept = Event.objects.filter(action="audit.data_keys_swept").order_by("seq")
    assert [event.data for event in swept] == [
        {"destroyed_keys_shredded": [crashed.key_id], "orphan_keys_shredded": []},
        {"destroyed_keys_shredded": [], "orphan_keys_shredded": [orphan_id]},
    ]
    assert data_keys.sweep(now=later) == data_keys.Sweep([], []) and swept.count() == 2  # nothing left, nothing logged


@pytest.mark.django_db(transaction=True)
def test_the_sweep_leaves_a_key_whose_row_another_transaction_is_inserting(keys):
    key_id, material = encryption.new_data_key()
    data_key_files.create(key_id, material)
    with psycopg.connect(**connection.get_connection_params()) as other:  # an upload, its row not yet committed
        other.execute(
            "INSERT INTO audit_datakey (id, owner_kind, owner_id, created_at) VALUES (%s, 'subject-images', 1, now())",
            [key_id],
        )
        assert data_keys.sweep(now=timezone.now() + data_keys.ORPHAN_GRACE).orphans == []
        assert data_key_files.read(key_id) == material
        other.commit()
    assert data_keys.sweep(now=timezone.now() + data_keys.ORPHAN_GRACE) == data_keys.Sweep([], [])
    assert data_key_files.read(key_id) == material


def test_the_sweep_command_says_what_it_shreds(keys):
    orphan_id, material = encryption.new_data_key()
    data_key_files.create(orphan_id, material)
    old = (timezone.now() - data_keys.ORPHAN_GRACE * 2).timestamp()
    os.utime(data_key_files.path_of(orphan_id), (old, old))

    out = io.StringIO()
    call_command("sweep_data_keys", "--dry-run", stdout=out)
    assert "would shred 0 destroyed key file(s) and 1 orphan key file(s)" in out.getvalue()
    call_command("sweep_data_keys", stdout=out)
    assert "shredded 0 destroyed key file(s) and 1 orphan key file(s)" in out.getvalue()
    assert data_key_files.read(orphan_id) is None
