"""Key files: secrets the database never holds (audit signing key, image key, receipt key), and their key rings.

Every key file is read here and nowhere else, so one place refuses a file others may read or change, and one place
knows which key material this process holds (govern.logging redacts it from every log record).

The configured file (AUDIT_SIGNING_KEY_FILE, IMAGE_ENCRYPTION_KEY_FILE, RECEIPT_KEY_FILE) always holds the current
key. What a rotation keeps of the old keys lives beside it in `<file>.keyring/`, one file per key id (the public
keys that verify old checkpoints; image keys until no image needs them). A rotation stages the new key in
`<file>.pending` and swaps it in with one rename, so the configured file holds a whole key at every moment.

Readers look at the file's identity (inode, size, mtime) on every use, so a rotated key is taken up at once by
every process, without a restart.
"""

import hashlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

RING_SUFFIX = ".keyring"
PUBLIC_KEY_SUFFIX = ".pub.pem"  # public keys in a ring: kept owner-only like the rest, but not secret
PENDING_SUFFIX = ".pending"
RECEIPT_KEY_BYTES = 32
# Group- or world-writable, or world-readable: someone other than the service may read or replace the key.
_UNSAFE_MODE = stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH

_material: set[bytes] = set()


@dataclass(frozen=True)
class SymmetricKey:
    """A secret key and its public id (16 hex digits of its SHA-256): the id names the key, never reveals it."""

    key_id: str
    material: bytes = field(repr=False)


def key_id_of(material: bytes) -> str:
    """The id of a secret key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(material).hexdigest()[:16]


def register_material(*values: bytes) -> None:
    """Remember key material this process holds (in any form it may be printed in) for the log redaction filter."""
    _material.update(bytes(value) for value in values if value)


def known_material() -> frozenset[bytes]:
    """Every piece of key material this process has read or derived."""
    return frozenset(_material)


def create_secret_file(path: Path, content: bytes) -> None:
    """Write a new key file readable by its owner only; never overwrite one (another process may have won)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process generated it first: use theirs
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def write_secret_file(path: Path, content: bytes) -> None:
    """Write a key file whole or not at all (temporary file, fsync, rename), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Make a rename in this directory durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_permissions(path: Path, setting: str, mode: int | None = None) -> None:
    """Refuse a key file that others may read, or that anyone but its owner may change (DEBUG excepted)."""
    mode = stat.S_IMODE(os.stat(path).st_mode if mode is None else mode)
    if mode & _UNSAFE_MODE and not settings.DEBUG:
        raise ImproperlyConfigured(
            f"{setting} {path} has permissions {mode:04o}: a key file must not be world-readable or group-writable "
            f"(chmod 600 {path})."
        )


def read_secret(path: Path, setting: str) -> bytes:
    """The bytes of a key file, refused if its permissions are unsafe; re-read only when the file changes."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ImproperlyConfigured(f"{setting} {path} does not exist.") from None
    except OSError as exc:
        raise ImproperlyConfigured(f"{setting} {path} cannot be read: {exc.strerror}.") from None
    check_permissions(path, setting, info.st_mode)
    return _read(str(path), setting, info.st_ino, info.st_size, info.st_mtime_ns)


@lru_cache(maxsize=32)
def _read(path: str, setting: str, _inode: int, _size: int, _mtime_ns: int) -> bytes:
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise ImproperlyConfigured(f"{setting} {path} cannot be read: {exc.strerror}.") from None
    register_material(content, content.strip())
    return content


KEY_FILE_SETTINGS = ("AUDIT_SIGNING_KEY_FILE", "IMAGE_ENCRYPTION_KEY_FILE", "RECEIPT_KEY_FILE")


def check_key_files(app_configs=None, **kwargs) -> list:
    """System check: every key file that exists, and every key its ring keeps, is safe from other users."""
    from django.core import checks

    errors = []
    for setting in KEY_FILE_SETTINGS:
        path = getattr(settings, setting, None)
        if path is None:
            continue
        ring = ring_dir(path)
        for candidate in [Path(path), *(sorted(ring.iterdir()) if ring.is_dir() else [])]:
            if not candidate.is_file() or candidate.name.endswith(PUBLIC_KEY_SUFFIX):
                continue
            try:
                check_permissions(candidate, setting)
            except ImproperlyConfigured as exc:
                errors.append(checks.Error(str(exc), id="govern.E001"))
    return errors


# --- Key rings and rotation ------------------------------------------------------------------------------------------


def ring_dir(path: Path) -> Path:
    """The key ring beside a key file: what a rotation keeps of the old keys."""
    path = Path(path)
    return path.with_name(path.name + RING_SUFFIX)


def ring_files(path: Path, suffix: str) -> dict[str, Path]:
    """The ring's files with this suffix, by key id."""
    directory = ring_dir(path)
    if not directory.is_dir():
        return {}
    return {
        entry.name[: -len(suffix)]: entry
        for entry in sorted(directory.iterdir())
        if entry.name.endswith(suffix) and not entry.name.startswith(".")
    }


def keep_in_ring(path: Path, key_id: str, suffix: str, content: bytes) -> Path:
    """Put a key into the ring under its id (idempotent); refuse if a different key already has that id."""
    target = ring_dir(path) / f"{key_id}{suffix}"
    ring_dir(path).mkdir(mode=0o700, exist_ok=True)
    if not target.exists():
        write_secret_file(target, content)  # whole or not at all: a half-written key would be worse than none
    elif target.read_bytes() != content:
        raise ImproperlyConfigured(f"The key ring {ring_dir(path)} already holds a different key with id {key_id}.")
    return target


def discard_from_ring(path: Path, key_id: str, suffix: str) -> bool:
    """Delete a retired key from the ring; whether it was there."""
    target = ring_dir(path) / f"{key_id}{suffix}"
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    sync_directory(target.parent)
    return True


def pending_path(path: Path) -> Path:
    """Where a rotation stages the next key before it becomes the current one."""
    path = Path(path)
    return path.with_name(path.name + PENDING_SUFFIX)


def stage(path: Path, content: bytes) -> None:
    """Write the next key beside the current one (replacing a stale staged key)."""
    write_secret_file(pending_path(path), content)


def read_staged(path: Path) -> bytes | None:
    """The staged next key, if a rotation left one."""
    try:
        return pending_path(path).read_bytes()
    except FileNotFoundError:
        return None


def install_staged(path: Path) -> None:
    """Make the staged key the current one, in one rename."""
    os.replace(pending_path(path), path)
    sync_directory(Path(path).parent)


def discard_staged(path: Path) -> None:
    """Remove a staged key that will not be installed."""
    pending_path(path).unlink(missing_ok=True)


# --- The deletion receipts' HMAC key ---------------------------------------------------------------------------------


def receipt_key() -> SymmetricKey:
    """The current HMAC key of deletion-receipt commitments, with its id (generated on first use where allowed).

    Only the current key is kept: a commitment is to a template that was destroyed, so nobody can ever recompute
    it, and the key id recorded with each receipt says which key made it.
    """
    path = Path(settings.RECEIPT_KEY_FILE)
    if settings.RECEIPT_KEY_GENERATE and not path.exists():
        create_secret_file(path, secrets.token_bytes(RECEIPT_KEY_BYTES))
    return _symmetric(read_secret(path, "RECEIPT_KEY_FILE"), "RECEIPT_KEY_FILE", path)


@lru_cache(maxsize=8)
def _symmetric(material: bytes, setting: str, path: Path) -> SymmetricKey:
    if len(material) < RECEIPT_KEY_BYTES:
        raise ImproperlyConfigured(f"{setting} {path} holds fewer than {RECEIPT_KEY_BYTES} bytes.")
    return SymmetricKey(key_id=key_id_of(material), material=material)


def new_receipt_key() -> bytes:
    """Fresh material for the next receipt key."""
    return secrets.token_bytes(RECEIPT_KEY_BYTES)
