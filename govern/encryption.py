"""Images at rest: AES-256-GCM with a key read from a file, a key ring for retired keys, and re-encryption.

Each blob names the key it was encrypted under (b"GVI1" + 8-byte key id + nonce + ciphertext and tag), so after a
rotation (`manage.py rotate_secret image`, apps/audit/rotation.py) an image stays readable under the retired key,
kept in the key ring beside IMAGE_ENCRYPTION_KEY_FILE, until it is re-encrypted under the current one.

Envelope encryption, for crypto-shredding: a blob may instead be under a data key of its own (b"GVD1" + the data
key's 8-byte id + nonce + ciphertext and tag). The data key is kept wrapped (a GVI1 blob under the ring's key) in a
file outside the database (govern/data_key_files.py), and an app registers the store that says whether it is still
live (`register_data_key_store`, apps/audit/data_keys.py); destroying it makes every copy of the blob unreadable,
wherever the copy lies. A ring rotation re-wraps data keys, not the data under them.

Part of the kernel: it imports no app. The columns it re-encrypts are found, not listed.
"""

import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps as django_apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models.functions import Substr

from govern import keyfiles
from govern.keyfiles import create_secret_file

_MAGIC = b"GVI1"
_DATA_MAGIC = b"GVD1"
_KEY_BYTES = 32
_KEY_ID_BYTES = 8
_NONCE_BYTES = 12
_TAG_BYTES = 16
_SETTING = "IMAGE_ENCRYPTION_KEY_FILE"
RING_SUFFIX = ".key"


class ImageDecryptionError(Exception):
    """A stored image that cannot be decrypted: wrong key, not an image blob, tampered, or bound to other data."""


class DataKeyDestroyed(ImageDecryptionError):
    """The image's data key was destroyed (crypto-shredded): no key anywhere can read it again."""


@dataclass(frozen=True)
class _Key:
    aead: AESGCM
    key_id: bytes
    material: bytes = field(repr=False)


@lru_cache(maxsize=16)
def _load_key(raw: bytes, path: str) -> _Key:
    """The AES key in a key file's bytes (32 raw bytes or 64 hex digits), with its id."""
    key = raw if len(raw) == _KEY_BYTES else _from_hex(raw.strip())
    if key is None:
        raise ImproperlyConfigured(
            f"IMAGE_ENCRYPTION_KEY_FILE {path} must hold {_KEY_BYTES} raw bytes or {_KEY_BYTES * 2} hex digits "
            f"(it holds {len(raw)} bytes)."
        )
    keyfiles.register_material(key)
    return _Key(aead=AESGCM(key), key_id=hashlib.sha256(key).digest()[:_KEY_ID_BYTES], material=key)


def _from_hex(text: bytes) -> bytes | None:
    if len(text) != _KEY_BYTES * 2:
        return None
    try:
        return bytes.fromhex(text.decode("ascii"))
    except ValueError:  # UnicodeDecodeError is a ValueError too
        return None


def key_file() -> Path:
    """IMAGE_ENCRYPTION_KEY_FILE: the current key; the ring's files lie beside it."""
    return Path(settings.IMAGE_ENCRYPTION_KEY_FILE)


def new_key() -> tuple[bytes, str]:
    """Fresh key material for a rotation, and its id."""
    material = AESGCM.generate_key(bit_length=_KEY_BYTES * 8)
    return material, _load_key(material, "a new key").key_id.hex()


def key_id_of(material: bytes, path: Path) -> str:
    """The id of the key in a key file's bytes (a staged rotation's, say)."""
    return _load_key(material, str(path)).key_id.hex()


def current_material() -> bytes:
    """The current key's bytes, to keep in the ring when it is rotated out."""
    return _key().material


def _key() -> _Key:
    """The current key: every new image is encrypted under it (a rotated file is taken up at once)."""
    path = key_file()
    if not path.exists() and settings.IMAGE_ENCRYPTION_KEY_GENERATE:
        create_secret_file(path, AESGCM.generate_key(bit_length=_KEY_BYTES * 8))
    return _load_key(keyfiles.read_secret(path, _SETTING), str(path))


def _ring() -> dict[bytes, _Key]:
    """The retired keys still kept for images not yet re-encrypted, by key id."""
    ring = {}
    for name, path in keyfiles.ring_files(key_file(), RING_SUFFIX).items():
        key = _load_key(keyfiles.read_secret(path, f"{_SETTING} key ring"), str(path))
        if key.key_id.hex() != name:
            raise ImproperlyConfigured(f"The image key ring's {path} does not hold the key its name says.")
        ring[key.key_id] = key
    return ring


def key_id() -> str:
    """The current image key's id: hex of the first 8 bytes of its SHA-256."""
    return _key().key_id.hex()


def ring_key_ids() -> list[str]:
    """The ids of the retired keys the ring still holds."""
    return sorted(key_id.hex() for key_id in _ring())


def encrypt(plaintext: bytes, *, associated_data: bytes) -> bytes:
    """Encrypt with AES-256-GCM, bound to associated_data: b"GVI1" + key id + nonce + ciphertext and tag."""
    return _encrypt(_key(), plaintext, associated_data)


def _encrypt(key: _Key, plaintext: bytes, associated_data: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return _MAGIC + key.key_id + nonce + key.aead.encrypt(nonce, plaintext, associated_data)


def decrypt(blob: bytes, *, associated_data: bytes) -> bytes:
    """Decrypt a blob made by encrypt() under the current key or one the key ring keeps, or by encrypt_under() under
    a data key the registered store still holds; else raise ImageDecryptionError (DataKeyDestroyed if shredded).

    The key id in the header says which key: old images stay readable while a rotation re-encrypts them.
    """
    header = len(_MAGIC) + _KEY_ID_BYTES + _NONCE_BYTES
    if len(blob) >= header + _TAG_BYTES and blob.startswith(_DATA_MAGIC):
        return _decrypt_under_data_key(blob, associated_data)
    if len(blob) < header + _TAG_BYTES or not blob.startswith(_MAGIC):
        raise ImageDecryptionError("Not an encrypted Govern image (bad magic or too short).")
    key = _key()
    blob_key_id = blob[len(_MAGIC) : len(_MAGIC) + _KEY_ID_BYTES]
    if blob_key_id != key.key_id:
        retired = _ring().get(blob_key_id)
        if retired is None:
            raise ImageDecryptionError(
                f"The image was encrypted with key {blob_key_id.hex()}, not the current key {key.key_id.hex()}, "
                "and the key ring does not hold it."
            )
        key = retired
    nonce = blob[header - _NONCE_BYTES : header]
    try:
        return key.aead.decrypt(nonce, blob[header:], associated_data)
    except InvalidTag:
        raise ImageDecryptionError("The image failed authentication: tampered, or bound to other data.") from None


# --- Data keys: one per subject's images or per alert probe, so deleting the record can destroy every copy -------


_data_key_store = None


def register_data_key_store(unwrapped_material) -> None:
    """Name the function that gives a data key's bytes from its hex id (unwrapped), or raises DataKeyDestroyed.

    The store is an app's (apps/audit/data_keys.py: its table says which keys live, govern/data_key_files.py holds
    them): this module names no app above it.
    """
    global _data_key_store
    _data_key_store = unwrapped_material


def new_data_key() -> tuple[str, bytes]:
    """A fresh data key: its public id (16 hex digits, random, so it says nothing of the key) and its bytes."""
    return os.urandom(_KEY_ID_BYTES).hex(), AESGCM.generate_key(bit_length=_KEY_BYTES * 8)


def wrapping_context(data_key_id: str) -> bytes:
    """What a wrapped data key is bound to: its own id, so one key's wrapping cannot stand for another's."""
    return f"data-key:{data_key_id}".encode()


def wrap(data_key_id: str, material: bytes) -> bytes:
    """A data key encrypted under the ring's current key (a GVI1 blob), bound to its id: what its file holds."""
    return encrypt(material, associated_data=wrapping_context(data_key_id))


def unwrap(data_key_id: str, wrapped: bytes) -> bytes:
    """A data key's bytes from its wrapped form, under the current key or one the ring keeps."""
    return decrypt(wrapped, associated_data=wrapping_context(data_key_id))


def encrypt_under(data_key_id: str, material: bytes, plaintext: bytes, *, associated_data: bytes) -> bytes:
    """Encrypt with AES-256-GCM under a data key: b"GVD1" + the data key's id + nonce + ciphertext and tag."""
    key = _Key(aead=AESGCM(material), key_id=bytes.fromhex(data_key_id), material=material)
    nonce = os.urandom(_NONCE_BYTES)
    return _DATA_MAGIC + key.key_id + nonce + key.aead.encrypt(nonce, plaintext, associated_data)


def data_key_id(blob: bytes) -> str | None:
    """The id of the data key a blob is under, or None for a blob under the ring's key (or no blob)."""
    if not blob or bytes(blob[: len(_DATA_MAGIC)]) != _DATA_MAGIC:
        return None
    return bytes(blob[len(_DATA_MAGIC) : len(_DATA_MAGIC) + _KEY_ID_BYTES]).hex()


def decrypt_with_data_key(material: bytes, blob: bytes, associated_data: bytes) -> bytes:
    """Decrypt a GVD1 blob with its data key's bytes, given (a migration passes them; others call decrypt())."""
    header = len(_DATA_MAGIC) + _KEY_ID_BYTES + _NONCE_BYTES
    try:
        return AESGCM(material).decrypt(blob[header - _NONCE_BYTES : header], blob[header:], associated_data)
    except InvalidTag:
        raise ImageDecryptionError("The image failed authentication: tampered, or bound to other data.") from None


def _decrypt_under_data_key(blob: bytes, associated_data: bytes) -> bytes:
    if _data_key_store is None:
        raise ImproperlyConfigured("No data key store is registered (the audit app registers it when ready).")
    return decrypt_with_data_key(_data_key_store(data_key_id(blob)), blob, associated_data)


# --- Rotation: a new key, re-encryption in batches, the old key destroyed once nothing needs it -------------------


def encrypted_columns() -> list[tuple[type[models.Model], str]]:
    """Every column holding images encrypted under the ring's keys, in any app (data keys are files: data_key_files).

    A binary field named `ciphertext` or `*_ciphertext` on a model that says what its ciphertext is bound to
    (`associated_data()`): found, not listed, so this module names no app above it.
    """
    columns = []
    for model in django_apps.get_models():
        if not callable(getattr(model, "associated_data", None)):
            continue
        for column in model._meta.concrete_fields:
            if isinstance(column, models.BinaryField) and (
                column.name == "ciphertext" or column.name.endswith("_ciphertext")
            ):
                columns.append((model, column.name))
    return columns


def _under(model, column: str, key_ids: list[bytes], *, exclude: bool = False):
    """The rows whose blob in `column` is under one of these keys (or, with exclude, under any other key)."""
    rows = model._default_manager.annotate(
        _magic=Substr(column, 1, len(_MAGIC), output_field=models.BinaryField()),
        _key_id=Substr(column, len(_MAGIC) + 1, _KEY_ID_BYTES, output_field=models.BinaryField()),
    ).filter(_magic=_MAGIC)
    return rows.exclude(_key_id__in=key_ids) if exclude else rows.filter(_key_id__in=key_ids)


def images_under(key_id_hex: str) -> int:
    """How many stored images are encrypted under this key."""
    wanted = [bytes.fromhex(key_id_hex)]
    return sum(_under(model, column, wanted).count() for model, column in encrypted_columns())


def reencrypt(batch_size: int = 100, progress=None) -> int:
    """Re-encrypt under the current key every image under another key, a batch per transaction; how many.

    Killed at any moment, nothing is lost: a batch commits whole or not at all, and an image not yet re-encrypted is
    still under a key the ring holds. Run again, it carries on with what is left. `progress(model, done)` is told
    after each batch.
    """
    current = _key()
    total = 0
    for model, column in encrypted_columns():
        has_key_id = any(other.name == "key_id" for other in model._meta.concrete_fields)
        while True:
            with transaction.atomic():
                rows = list(
                    _under(model, column, [current.key_id], exclude=True)
                    .select_for_update()
                    .order_by("pk")[:batch_size]
                )
                for row in rows:
                    bound_to = row.associated_data()
                    try:
                        plaintext = decrypt(bytes(getattr(row, column)), associated_data=bound_to)
                    except ImageDecryptionError as exc:
                        raise ImageDecryptionError(f"{model._meta.label} {row.pk}: {exc}") from None
                    changes = {column: _encrypt(current, plaintext, bound_to)}
                    if has_key_id:
                        changes["key_id"] = current.key_id.hex()
                    model._default_manager.filter(pk=row.pk).update(**changes)
            if not rows:
                break
            total += len(rows)
            if progress is not None:
                progress(model, len(rows))
    return total
