"""Data keys: crypto-shredding for the copies a deletion cannot reach (write-ahead log, base backups, replicas).

Each subject's custody images share one data key, each alert's probe has its own, and so do each retrospective search's
stills (govern/encryption.py, GVD1 blobs). The key itself is a file outside the database (govern/data_key_files.py,
wrapped under the image key ring); its row here says what it encrypts and whether it was destroyed, and holds nothing
that opens anything. So a copy of the database from before a deletion (a restored base backup, the WAL, a replica) names
the key, but once the deletion destroyed the file, nothing opens the image: docs/security.md says so, and what it does
not cover.

The file and the row never disagree for long, whatever crashes when:
- a new key's file is written (and synced) before its row commits: a row never names a key that is not stored. A
  file whose row never commits is an orphan; `sweep` removes it;
- a destroyed key's file is shredded once the destruction commits: a destruction rolled back keeps its key. A crash
  between the commit and the shredding leaves a file whose row says destroyed, which no reader will use (the row is
  read first) and `sweep` removes.

Infrastructure under the domain apps: it names owners by kind and id, and imports none of them.
"""

import datetime
from dataclasses import dataclass, field

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from govern import data_key_files, encryption, prepared

from .choices import DATA_KEYS_SWEPT, DataKeyOwner
from .models import DataKey
from .services import record

# A new alert's probe key, written on the frame's driver cursor beside the alert (apps/matching/services/live_capture).
_INSERT_SQL = (
    f"INSERT INTO {DataKey._meta.db_table} (id, owner_kind, owner_id, created_at) "  # noqa: S608
    "VALUES (%s, %s, %s, %s)"
)
# The sweep's test of an orphan file: an insert of its id waits for a transaction that inserted it and has not yet
# committed (then finds its row), so a key whose row is on its way is never taken for an orphan. Rolled back always.
_CLAIM_SQL = (
    f"INSERT INTO {DataKey._meta.db_table} (id, owner_kind, owner_id, created_at, destroyed_at) "  # noqa: S608
    "VALUES (%s, %s, NULL, now(), now()) ON CONFLICT (id) DO NOTHING RETURNING id"
)
# A file this young may be a key whose row is not even inserted yet (the caller writes it first): left alone.
ORPHAN_GRACE = datetime.timedelta(minutes=10)
# How long the sweep waits for a transaction that is inserting a key's row before it leaves the file for next time.
_CLAIM_LOCK_TIMEOUT = "1s"


@dataclass(frozen=True)
class SealingKey:
    """A data key in the clear, held only for as long as it encrypts one thing."""

    key_id: str
    material: bytes = field(repr=False)

    def seal(self, plaintext: bytes, *, associated_data: bytes) -> bytes:
        """Encrypt under this data key (a GVD1 blob naming it)."""
        return encryption.encrypt_under(self.key_id, self.material, plaintext, associated_data=associated_data)


def _fresh() -> SealingKey:
    key_id, material = encryption.new_data_key()
    data_key_files.create(key_id, material)
    return SealingKey(key_id, material)


def _stored(key_id: str) -> bytes:
    material = data_key_files.read(key_id)
    if material is None:
        raise encryption.DataKeyDestroyed(
            f"The image's data key {key_id} is not in the key store {data_key_files.directory()}: it was destroyed "
            "when the record was deleted (this copy of the database, a restored backup say, is older than the "
            "deletion), or DATA_KEY_DIR is not this database's key store. The image cannot be read."
        )
    return material


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
    return _stored(key_id)


def key_for_subject(subject_id: int) -> SealingKey:
    """The live data key of a subject's custody images, made on the first image (two uploads at once share one)."""
    live = DataKey.objects.filter(owner_kind=DataKeyOwner.SUBJECT_IMAGES, owner_id=subject_id, destroyed_at=None)
    row = live.first()
    if row is None:
        key = _fresh()
        try:
            with transaction.atomic():
                DataKey.objects.create(pk=key.key_id, owner_kind=DataKeyOwner.SUBJECT_IMAGES, owner_id=subject_id)
            return key
        except IntegrityError:  # another upload made the subject's key first: use theirs, and ours never had a row
            data_key_files.shred(key.key_id)
            row = live.get()
    return SealingKey(row.pk, _stored(row.pk))


def new_key_for(owner_kind: str, owner_id: int) -> SealingKey:
    """A new data key for a record made in the caller's transaction (a search's stills): its file stored, then its
    row, which commits or rolls back with the record (a file whose row rolled back is an orphan the sweep removes)."""
    key = _fresh()
    DataKey.objects.create(pk=key.key_id, owner_kind=owner_kind, owner_id=owner_id)
    return key


def new_probe_key() -> SealingKey:
    """A new alert's own probe key, stored in the key store; its row is written with the alert (store_probe_key)."""
    return _fresh()


def store_probe_key(cursor, key: SealingKey, alert_id: int, now) -> None:
    """Record an alert's probe key on the caller's driver cursor (in its transaction and pipeline)."""
    prepared.execute(cursor, _INSERT_SQL, [key.key_id, DataKeyOwner.ALERT_PROBE, alert_id, now])


def destroy(key_id: str | None) -> str | None:
    """Destroy a data key in the caller's transaction: the row kept as a tombstone, the key's file shredded once the
    transaction commits. The key's id, for the deletion receipt; None when there was no live key."""
    if key_id is None:
        return None
    if not DataKey.objects.filter(pk=key_id, destroyed_at=None).update(destroyed_at=timezone.now()):
        return None
    # Robust: a failure to shred must not fail the committed deletion; the sweep shreds what was left.
    transaction.on_commit(lambda: data_key_files.shred(key_id), robust=True)
    return key_id


def destroy_for(owner_kind: str, owner_id: int) -> str | None:
    """Destroy the owner's live data key; its id, or None if it had none."""
    key_id = (
        DataKey.objects.filter(owner_kind=owner_kind, owner_id=owner_id, destroyed_at=None)
        .values_list("pk", flat=True)
        .first()
    )
    return destroy(key_id)


# --- Keeping the store and the table in step ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    """What a sweep of the key store removed: files of destroyed keys, and files no row names (orphans)."""

    destroyed: list[str]
    orphans: list[str]


def sweep(now=None, dry_run: bool = False) -> Sweep:
    """Remove the files of destroyed keys and of keys whose row never committed (idempotent; logged if it did any)."""
    now = now or timezone.now()
    destroyed, orphans = [], []
    stored = list(data_key_files.key_ids())
    for batch in (stored[start : start + 500] for start in range(0, len(stored), 500)):
        rows = dict(DataKey.objects.filter(pk__in=batch).values_list("pk", "destroyed_at"))
        for key_id in batch:
            if key_id in rows:
                if rows[key_id] is not None:
                    destroyed.append(key_id)
            elif _old_enough(key_id, now) and _never_committed(key_id, dry_run):
                orphans.append(key_id)
    if not dry_run:
        for key_id in destroyed:
            data_key_files.shred(key_id)
        if destroyed or orphans:
            record(
                DATA_KEYS_SWEPT,
                ("audit.datakey", "store"),
                None,
                data={"destroyed_keys_shredded": destroyed, "orphan_keys_shredded": orphans},
            )
    return Sweep(destroyed, orphans)


def _old_enough(key_id: str, now) -> bool:
    written = data_key_files.modified_at(key_id)
    return written is not None and written <= (now - ORPHAN_GRACE).timestamp()


def _never_committed(key_id: str, dry_run: bool) -> bool:
    """Whether no row names this key, nor ever will: shredded here (unless dry_run) while that is known."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{_CLAIM_LOCK_TIMEOUT}'")
                cursor.execute(_CLAIM_SQL, [key_id, DataKeyOwner.SUBJECT_IMAGES])
                claimed = cursor.fetchone() is not None
            if claimed and not dry_run:
                data_key_files.shred(key_id)  # while the claim holds the id: no row can commit meanwhile
            transaction.set_rollback(True)  # the claim was only a test
    except OperationalError:  # a transaction inserting its row still runs: not an orphan, or not yet
        return False
    return claimed


def rewrap() -> int:
    """Wrap every live data key under the ring's current key (a rotation's job); how many it re-wrapped.

    Each key's row is locked while its file is rewritten, so a destruction committing meanwhile cannot be undone by
    the rewrite bringing its file back.
    """
    done = 0
    current = encryption.key_id()
    stale = [key_id for key_id in data_key_files.key_ids() if data_key_files.wrapped_by(key_id) != current]
    for batch in (stale[start : start + 100] for start in range(0, len(stale), 100)):
        with transaction.atomic():
            live = DataKey.objects.select_for_update().filter(pk__in=batch, destroyed_at=None)
            done += sum(data_key_files.rewrap(key_id) for key_id in live.values_list("pk", flat=True))
    return done
