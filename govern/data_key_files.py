"""The data key store: each crypto-shredding data key in a file of its own, outside PostgreSQL.

A data key kept in the database would be in every copy of it (write-ahead log, base backups, replicas), so a
backup taken before a deletion would still open the deleted image. Here each key lies in
`DATA_KEY_DIR/<first two hex digits of its id>/<id>.key` (two hex digits spread millions of keys over 256
directories), wrapped under the image key ring's current key (a GVI1 blob bound to its id), written whole or not at
all and readable by its owner only. Destroying a key overwrites its file and unlinks it: from then on no copy of the
database anywhere can read what the key encrypted. A ring rotation re-wraps these files, never the data.

Only files: which keys are live or destroyed is the database's business (apps/audit/data_keys.py). Part of the
kernel: it imports no app.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from govern import encryption, keyfiles

SUFFIX = ".key"
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_HEADER_BYTES = 12  # b"GVI1" + the ring key's 8-byte id: which ring key wraps the data key


def directory() -> Path:
    """DATA_KEY_DIR: the store's root."""
    return Path(settings.DATA_KEY_DIR)


def path_of(key_id: str) -> Path:
    """Where a data key's file lies (refusing anything but a data key id, so no id can name a path elsewhere)."""
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError(f"Not a data key id: {key_id!r}.")
    return directory() / key_id[:2] / f"{key_id}{SUFFIX}"


def create(key_id: str, material: bytes) -> None:
    """Store a new data key, wrapped under the ring's current key, durably (before its row commits: a row never
    names a key that is not here; a file whose row never commits is swept)."""
    _write(key_id, encryption.wrap(key_id, material))


def _write(key_id: str, wrapped: bytes) -> None:
    path = path_of(key_id)
    for folder in (directory(), path.parent):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    keyfiles.write_secret_file(path, wrapped)


def read(key_id: str) -> bytes | None:
    """A data key's bytes, unwrapped; None if the store does not hold it (destroyed, or never stored)."""
    try:
        wrapped = path_of(key_id).read_bytes()
    except FileNotFoundError:
        return None
    return encryption.unwrap(key_id, wrapped)


def shred(key_id: str) -> bool:
    """Destroy a data key: its file overwritten with zeros, synced, then unlinked; whether it was there.

    The overwrite is best effort (a journalling or copy-on-write file system, or an SSD, may keep the old block);
    what is left there is still wrapped under a ring key, which the next image-key rotation destroys.
    """
    path = path_of(key_id)
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return False
    try:
        os.write(fd, bytes(os.fstat(fd).st_size))
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
    keyfiles.sync_directory(path.parent)
    return True


def key_ids() -> Iterator[str]:
    """The id of every data key the store holds."""
    root = directory()
    if not root.is_dir():
        return
    for shard in sorted(root.iterdir()):
        if not shard.is_dir():
            continue
        for entry in sorted(shard.iterdir()):
            key_id = entry.name[: -len(SUFFIX)]
            if entry.name.endswith(SUFFIX) and _KEY_ID.fullmatch(key_id):
                yield key_id


def modified_at(key_id: str) -> float | None:
    """When the key's file was last written (seconds since the epoch), or None if it is gone."""
    try:
        return path_of(key_id).stat().st_mtime
    except FileNotFoundError:
        return None


def wrapped_by(key_id: str) -> str | None:
    """The id of the ring key that wraps this data key, or None if it is gone."""
    try:
        with path_of(key_id).open("rb") as handle:
            header = handle.read(_HEADER_BYTES)
    except FileNotFoundError:
        return None
    return header[4:].hex()


def rewrap(key_id: str) -> bool:
    """Wrap a data key under the ring's current key if another ring key wraps it; whether it did."""
    ring_key = wrapped_by(key_id)
    if ring_key is None or ring_key == encryption.key_id():
        return False
    material = read(key_id)
    if material is None:
        return False
    _write(key_id, encryption.wrap(key_id, material))
    return True


def wrapped_under(ring_key_id: str) -> int:
    """How many data keys this ring key still wraps (it may not be destroyed while any is)."""
    return sum(1 for key_id in key_ids() if wrapped_by(key_id) == ring_key_id)
