"""Crypto-shredding (issue 26, point 5): each subject's custody images and each alert's probe under a data key of
their own, wrapped by the image key ring; destroying the key makes every copy of them unreadable.

Each test points the key files at a fresh directory, so a rotation here never touches the suite's own keys. The
restore of a base backup taken before a deletion is in test_crypto_shredding_backup.py.
"""

import datetime
import importlib
import io

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.utils import timezone

from apps.audit.choices import DataKeyOwner
from apps.audit.models import DataKey, Event
from apps.matching import selectors as matching_selectors
from apps.matching.models import Alert
from apps.matching.services import alert_handling, live_capture
from apps.watchlists.choices import LegalBasis
from apps.watchlists.models import CustodyImage
from apps.watchlists.services import image_keys
from govern import encryption, uploads
from tests.watchlist_fixtures import make_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(settings, tmp_path):
    """Fresh key files (generated on first use), in a directory of their own."""
    directory = tmp_path / "keys"
    settings.AUDIT_SIGNING_KEY_FILE = directory / "audit-signing-key.pem"
    settings.IMAGE_ENCRYPTION_KEY_FILE = directory / "image-encryption.key"
    settings.RECEIPT_KEY_FILE = directory / "receipt-hmac.key"
    settings.AUDIT_SIGNING_KEY_GENERATE = settings.IMAGE_ENCRYPTION_KEY_GENERATE = True
    settings.RECEIPT_KEY_GENERATE = True
    return directory


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


def test_a_subjects_images_share_one_data_key_and_die_with_it(keys, actors, gallery):
    subject, other = gallery.adult[0], gallery.other[0]
    (first, first_bytes), (second, second_bytes) = (_sealed_image(actors, subject, seed) for seed in (1, 2))
    (elsewhere, elsewhere_bytes) = _sealed_image(actors, other, 3)

    assert first.key_id == second.key_id != elsewhere.key_id
    assert bytes(first.ciphertext)[:4] == b"GVD1" and encryption.data_key_id(bytes(first.ciphertext)) == first.key_id
    key = DataKey.objects.get(pk=first.key_id)
    assert (key.owner_kind, key.owner_id) == (DataKeyOwner.SUBJECT_IMAGES, subject.pk)
    assert first_bytes not in bytes(key.key_ciphertext) and bytes(key.key_ciphertext)[:4] == b"GVI1"  # wrapped
    assert (_read(first), _read(second)) == (first_bytes, second_bytes)

    destroyed = image_keys.destroy_subject_key(subject)

    assert destroyed == first.key_id
    key.refresh_from_db()
    assert bytes(key.key_ciphertext) == b"" and key.destroyed_at is not None
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
    wrapped = bytes(DataKey.objects.get(pk=image.key_id).key_ciphertext)
    assert wrapped[4:12].hex() == encryption.key_id() != old_ring  # the data key was re-wrapped
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
    assert key.destroyed_at is not None and bytes(key.key_ciphertext) == b""
    with pytest.raises(encryption.DataKeyDestroyed):
        encryption.decrypt(copy_of_probe, associated_data=alert.associated_data())


def test_the_data_migrations_move_stored_images_and_probes_under_data_keys_and_back(actors, gallery):
    image = gallery.adult[1]
    content = _read(image)
    # As stored before data keys: under the ring's key.
    legacy = encryption.encrypt(content, associated_data=image.associated_data())
    CustodyImage.objects.filter(pk=image.pk).update(ciphertext=legacy, key_id=encryption.key_id())
    images = importlib.import_module("apps.watchlists.migrations.0008_custody_images_under_data_keys")
    probes = importlib.import_module("apps.matching.migrations.0010_alert_probes_under_data_keys")

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
