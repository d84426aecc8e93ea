"""Custody images under their subject's data key: deleting the subject destroys the key, and with it every copy of
every image of theirs that a deletion cannot reach (write-ahead log, base backups, replicas; docs/security.md)."""

from django.db import transaction

from apps.audit import data_keys
from apps.audit.choices import DataKeyOwner
from govern import encryption

from ..models import CustodyImage, Subject


def seal(image: CustodyImage, content: bytes) -> None:
    """Encrypt a new image's bytes under its subject's data key (its subject and sha256 already set)."""
    key = data_keys.key_for_subject(image.subject_id)
    image.key_id = key.key_id
    image.ciphertext = key.seal(content, associated_data=image.associated_data())


def destroy_subject_key(subject: Subject) -> str | None:
    """Crypto-shred every custody image of the subject, in the caller's transaction: the destroyed key's id, for the
    deletion receipt (None if the subject never had an image under a data key)."""
    return data_keys.destroy_for(DataKeyOwner.SUBJECT_IMAGES, subject.pk)


@transaction.atomic
def rekey_subject(subject: Subject) -> str | None:
    """After one of a subject's images is deleted, the rest go under a new data key and the old key is destroyed, so
    the deleted image's copies die too (a shared key could not be destroyed for one image alone). The old key's id.

    The subject's row is held first, as an upload holds it: no image is sealed under the key while it is destroyed."""
    Subject.objects.select_for_update(no_key=True).filter(pk=subject.pk).values_list("pk", flat=True).first()
    images = list(CustodyImage.objects.select_for_update().filter(subject=subject).order_by("pk"))
    plain = [encryption.decrypt(bytes(image.ciphertext), associated_data=image.associated_data()) for image in images]
    destroyed = destroy_subject_key(subject)
    for image, content in zip(images, plain, strict=True):
        seal(image, content)
        image.save(update_fields=["key_id", "ciphertext"])
    return destroyed
