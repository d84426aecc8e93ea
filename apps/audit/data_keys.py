"""Data keys: crypto-shredding for the copies a deletion cannot reach (write-ahead log, base backups, replicas).

Each subject's custody images share one data key, and each alert's probe has its own (govern/encryption.py, GVD1
blobs). The key is kept here wrapped under the image key ring's current key, so a ring rotation re-wraps these
rows and never touches the images. Destroying a key overwrites its wrapped bytes and marks the row destroyed: once
the ring key that wrapped it is gone too (the next `rotate_secret image` retires it), no copy of an image under it,
and no copy of this row, can be read again. docs/security.md says how long that takes and what it does not cover.

Infrastructure under the domain apps: it names owners by kind and id, and imports none of them.
"""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from govern import encryption, prepared

from .choices import DataKeyOwner
from .models import DataKey

# A new alert's probe key, written on the frame's driver cursor beside the alert (apps/matching/services/live_capture).
_INSERT_SQL = (
    f"INSERT INTO {DataKey._meta.db_table} (id, key_ciphertext, owner_kind, owner_id, created_at) "  # noqa: S608
    "VALUES (%s, %s, %s, %s, %s)"
)


@dataclass(frozen=True)
class SealingKey:
    """A data key in the clear, held only for as long as it encrypts one thing."""

    key_id: str
    material: bytes = field(repr=False)
    wrapped: bytes = field(default=b"", repr=False)

    def seal(self, plaintext: bytes, *, associated_data: bytes) -> bytes:
        """Encrypt under this data key (a GVD1 blob naming it)."""
        return encryption.encrypt_under(self.key_id, self.material, plaintext, associated_data=associated_data)


def _fresh() -> SealingKey:
    key_id, material = encryption.new_data_key()
    return SealingKey(key_id, material, encryption.wrap(key_id, material))


def unwrapped(key_id: str) -> bytes:
    """A live data key's bytes; DataKeyDestroyed once it was destroyed (registered as the kernel's data key store)."""
    row = DataKey.objects.filter(pk=key_id).first()
    if row is None:
        raise encryption.DataKeyDestroyed(f"The image's data key {key_id} is not held here: it cannot be read.")
    if row.destroyed_at is not None:
        raise encryption.DataKeyDestroyed(
            f"The image's data key {key_id} was destroyed on {row.destroyed_at:%Y-%m-%d %H:%M} UTC: "
            "the image was deleted and can never be read again."
        )
    return encryption.unwrap(row.pk, bytes(row.key_ciphertext))


def key_for_subject(subject_id: int) -> SealingKey:
    """The live data key of a subject's custody images, made on the first image (two uploads at once share one)."""
    live = DataKey.objects.filter(owner_kind=DataKeyOwner.SUBJECT_IMAGES, owner_id=subject_id, destroyed_at=None)
    row = live.first()
    if row is None:
        key = _fresh()
        try:
            with transaction.atomic():
                DataKey.objects.create(
                    pk=key.key_id,
                    key_ciphertext=key.wrapped,
                    owner_kind=DataKeyOwner.SUBJECT_IMAGES,
                    owner_id=subject_id,
                )
            return key
        except IntegrityError:  # another upload made the subject's key first: use theirs
            row = live.get()
    return SealingKey(row.pk, encryption.unwrap(row.pk, bytes(row.key_ciphertext)))


def new_probe_key() -> SealingKey:
    """A new alert's own probe key, not yet stored: the probe is sealed before the alert has an id."""
    return _fresh()


def store_probe_key(cursor, key: SealingKey, alert_id: int, now) -> None:
    """Store an alert's probe key on the caller's driver cursor (in its transaction and pipeline)."""
    prepared.execute(cursor, _INSERT_SQL, [key.key_id, key.wrapped, DataKeyOwner.ALERT_PROBE, alert_id, now])


def destroy(key_id: str | None) -> str | None:
    """Destroy a data key (in the caller's transaction): its wrapped bytes overwritten, the row kept as a tombstone.
    The key's id, for the deletion receipt; None when there was no live key."""
    if key_id is None:
        return None
    done = DataKey.objects.filter(pk=key_id, destroyed_at=None).update(key_ciphertext=b"", destroyed_at=timezone.now())
    return key_id if done else None


def destroy_for(owner_kind: str, owner_id: int) -> str | None:
    """Destroy the owner's live data key; its id, or None if it had none."""
    key_id = (
        DataKey.objects.filter(owner_kind=owner_kind, owner_id=owner_id, destroyed_at=None)
        .values_list("pk", flat=True)
        .first()
    )
    return destroy(key_id)
