"""Rotating secrets: a new key, the rotation recorded in the log, and an old key kept only as long as it is needed.

Each rotation stages the new key beside the current one (`<file>.pending`), records `audit.key_rotated` (who, why,
the old and new key ids; never a key) in a transaction, then installs the staged key with one rename. A process
killed between the commit and the rename leaves the staged key that the last rotation event names: the next run
installs it instead of starting again, so the key file and the log always end up agreeing.

What each secret keeps of its old key:
- audit signing: the old public key stays in the key history (the ring), so every checkpoint it signed still
  verifies; the old private key is destroyed with the rename. The old key signs the checkpoint that holds the
  rotation event (naming the new public key), so a verifier sees the hand-over; the new key signs from then on.
- receipt: nothing. A commitment is to a template that was destroyed, so nobody can recompute one, old or new;
  each receipt's event names the key id that made it.
- image: the old key stays in the ring until no stored image is encrypted under it (govern/encryption.py).
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from govern import data_key_files, encryption, keyfiles

from . import services, signing
from .choices import KEY_RETIRED, KEY_ROTATED, Secret
from .models import Event


class RotationRefused(ValueError):
    """A rotation needs a reason."""


@dataclass(frozen=True)
class Rotation:
    """What a rotation did."""

    secret: str
    old_key_id: str
    new_key_id: str
    event_seq: int
    resumed: bool = False  # an interrupted rotation was completed, not a new one started
    checkpoint_size: int | None = None  # audit signing: the checkpoint the old key signed over the hand-over


def record_rotation(secret: str, actor, reason: str, old_key_id: str, new_key_id: str, data: dict | None = None):
    """Log a rotation, inside the caller's transaction: who, why, which keys by id, and what became of the old one."""
    if not (reason or "").strip():
        raise RotationRefused("Say why the key is rotated (--reason).")
    payload = {"secret": Secret(secret).value, "old_key_id": old_key_id, "new_key_id": new_key_id, **(data or {})}
    return services.record(KEY_ROTATED, ("audit.secret", secret), actor, data=payload, reason=reason)


def record_retirement(secret: str, actor, reason: str, key_id: str, data: dict | None = None):
    """Log that a retired key was destroyed, inside the caller's transaction."""
    payload = {"secret": Secret(secret).value, "key_id": key_id, **(data or {})}
    return services.record(KEY_RETIRED, ("audit.secret", secret), actor, data=payload, reason=reason)


def last_rotation(secret: str) -> Event | None:
    """The latest rotation event of this secret."""
    for event in Event.objects.filter(action=KEY_ROTATED, target_type="audit.secret", target_id=secret).order_by(
        "-seq"
    )[:1]:
        return event
    return None


def resume_interrupted(secret: str, path: Path, id_of_staged, current_key_id: str) -> Rotation | None:
    """Install a staged key the last rotation event already names; drop a staged key no event names.

    `id_of_staged` turns the staged file's bytes into its key id.
    """
    staged = keyfiles.read_staged(path)
    if staged is None:
        return None
    event = last_rotation(secret)
    if event is not None:
        data = event.data
        if data.get("old_key_id") == current_key_id and data.get("new_key_id") == id_of_staged(staged):
            keyfiles.install_staged(path)
            return Rotation(secret, current_key_id, data["new_key_id"], event.seq, resumed=True)
    keyfiles.discard_staged(path)  # staged by a run that died before its event committed: never used
    return None


def rotate_signing_key(actor, reason: str) -> Rotation:
    """A new Ed25519 checkpoint key; the old key signs the checkpoint holding the hand-over, the new key after it."""
    path = signing.key_file()
    old_raw = signing.public_key_raw()
    old_id = signing.id_of(old_raw)
    resumed = resume_interrupted(
        Secret.AUDIT_SIGNING,
        path,
        lambda pem: signing.id_of(signing.raw_public_key(signing.parse_private_key(pem))),
        old_id,
    )
    if resumed is not None:
        return resumed
    new_pem = signing.generate_pem()
    new_raw = signing.raw_public_key(signing.parse_private_key(new_pem))
    new_id = signing.id_of(new_raw)
    # Both public keys are in the history before either signs across the hand-over.
    signing.keep_public_key(old_raw)
    signing.keep_public_key(new_raw)
    keyfiles.stage(path, new_pem)
    with transaction.atomic():
        event = record_rotation(
            Secret.AUDIT_SIGNING,
            actor,
            reason,
            old_id,
            new_id,
            data={
                "old_fingerprint": signing.fingerprint(old_raw),
                "new_fingerprint": signing.fingerprint(new_raw),
                "new_public_key": new_raw.hex(),  # public: the old key's checkpoint vouches for it
                "old_key": "public key kept in the key history; private key destroyed",
            },
        )
        checkpoint = services.sign_checkpoint()  # still the old key: it signs the tree that names its successor
    keyfiles.install_staged(path)
    return Rotation(Secret.AUDIT_SIGNING, old_id, new_id, event.seq, checkpoint_size=checkpoint.tree_size)


def _hand_over(secret: str, path: Path, new: bytes, actor, reason: str, old_id: str, new_id: str, old_key: str):
    """Stage the new key, record the rotation (saying what became of the old key), then install the new key."""
    keyfiles.stage(path, new)
    with transaction.atomic():
        event = record_rotation(secret, actor, reason, old_id, new_id, data={"old_key": old_key})
    keyfiles.install_staged(path)
    return Rotation(secret, old_id, new_id, event.seq)


def rotate_receipt_key(actor, reason: str) -> Rotation:
    """A new HMAC key for deletion-receipt commitments; the old key is destroyed (nothing can use it again)."""
    path = Path(settings.RECEIPT_KEY_FILE)
    old_id = keyfiles.receipt_key().key_id
    resumed = resume_interrupted(Secret.RECEIPT, path, keyfiles.key_id_of, old_id)
    if resumed is not None:
        return resumed
    new = keyfiles.new_receipt_key()
    new_id = keyfiles.key_id_of(new)
    keyfiles.register_material(new)
    old_key = "destroyed: the templates it committed to are destroyed, so no commitment is recomputed"
    return _hand_over(Secret.RECEIPT, path, new, actor, reason, old_id, new_id, old_key)


def rotate_image_key(actor, reason: str) -> Rotation:
    """A new current image key; the old one goes to the key ring first, so every image stays readable.

    Then `encryption.reencrypt`, `data_keys.rewrap` and `retire_unused_image_keys` finish the job.
    """
    path = encryption.key_file()
    old_id = encryption.key_id()
    staged_path = keyfiles.pending_path(path)
    resumed = resume_interrupted(Secret.IMAGE, path, lambda staged: encryption.key_id_of(staged, staged_path), old_id)
    if resumed is not None:
        return resumed
    new, new_id = encryption.new_key()
    keyfiles.keep_in_ring(path, old_id, encryption.RING_SUFFIX, encryption.current_material())
    old_key = "kept in the key ring until no image is encrypted under it"
    return _hand_over(Secret.IMAGE, path, new, actor, reason, old_id, new_id, old_key)


def retire_unused_image_keys(actor, reason: str) -> list[str]:
    """Destroy each key in the image key ring that no stored image nor data key is encrypted under any more; their ids.

    A key still in use is kept (re-encrypt and re-wrap first). Each destruction is logged before the file goes.
    """
    current = encryption.key_id()
    retired = []
    for name in encryption.ring_key_ids():
        if name == current or encryption.images_under(name) or data_key_files.wrapped_under(name):
            continue
        with transaction.atomic():
            record_retirement(Secret.IMAGE, actor, reason, name, data={"images_under_key": 0})
        keyfiles.discard_from_ring(encryption.key_file(), name, encryption.RING_SUFFIX)
        retired.append(name)
    return retired


def signing_keys_announced() -> dict[str, int]:
    """Each signing key a rotation event introduced, with that event's position in the log."""
    announced = {}
    events = Event.objects.filter(action=KEY_ROTATED, target_type="audit.secret", target_id=Secret.AUDIT_SIGNING)
    for event in events.order_by("seq"):
        announced.setdefault(event.data.get("new_key_id"), event.seq)
    return announced
