"""The agent's durable queue: batches of decisions in a SQLite file under --queue-dir, each encrypted at rest, kept
until Govern acknowledges them.

A batch gets its idempotency key (a UUID4) when it is made, and is resent under that key, with the same bytes, until
Govern answers 201 (recorded) or 200 (a duplicate: recorded before). Each body is sealed with AES-256-GCM under a key
derived with HKDF-SHA256 from the camera credential, the batch's key bound in as associated data (a body moved to
another row does not open): the file on a van's disk holds no crop, score or time in clear. The queue never holds a
non-matching face at all: a receipt is a commitment and counts. SQLite runs in WAL mode with full sync, and frees
pages zeroed (secure_delete), so a batch written is on disk before the agent goes on, and an acknowledged one leaves
nothing behind.

A refusal for a reason (4xx other than 401 and 409) will not change by resending: that batch is logged and kept
aside (`refused`), with Govern's reason, for someone to look at; it is not retried forever.
"""

import json
import os
import random
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FILE_NAME = "queue.sqlite3"
BACKOFF_FIRST, BACKOFF_MOST = 1.0, 60.0  # seconds before the first retry, and the longest wait between two
SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (
    id TEXT PRIMARY KEY,            -- the idempotency key, fixed when the batch was made
    made_at REAL NOT NULL,
    sealed BLOB NOT NULL,           -- 12-byte nonce, then AES-GCM's ciphertext and tag of the JSON body
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'refused')),
    refusal TEXT NOT NULL DEFAULT ''
)
"""


def queue_key(credential: str) -> bytes:
    """The queue's 256-bit key, derived from the camera credential (which the agent holds anyway, never on disk by
    the agent): another van's credential, or none, opens nothing."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"govern capture agent", info=b"queue v1")
    return hkdf.derive(credential.encode())


@dataclass(frozen=True)
class Batch:
    """A batch waiting to be sent: its idempotency key, its body, and how often it was tried."""

    id: str
    body: dict
    attempts: int


class BatchQueue:
    """The SQLite file of batches waiting for Govern's acknowledgement."""

    def __init__(self, directory: Path, credential: str):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / FILE_NAME
        self._aead = AESGCM(queue_key(credential))
        # One connection shared by the capture loop (which puts) and the uplink thread (which sends), one at a time.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        os.chmod(self.path, 0o600)
        self._lock = threading.Lock()
        for pragma in ("journal_mode = WAL", "synchronous = FULL", "secure_delete = ON"):
            self._sql(f"PRAGMA {pragma}")
        self._sql(SCHEMA)

    def _sql(self, statement: str, parameters: tuple = ()) -> list[tuple]:
        """One statement (its own transaction) and its rows, one thread at a time."""
        with self._lock:
            return self._db.execute(statement, parameters).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _seal(self, batch_id: str, tracks: list[dict]) -> bytes:
        body = json.dumps({"batch": batch_id, "tracks": tracks}, separators=(",", ":")).encode()
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, body, batch_id.encode())

    def put(self, tracks: list[dict], now: float) -> str:
        """Seal a batch of decided tracks and write it; its idempotency key, made now and kept until acknowledged."""
        batch_id = str(uuid.uuid4())
        self._sql("INSERT INTO batch (id, made_at, sealed, next_attempt) VALUES (?, ?, ?, ?)",
                         (batch_id, now, self._seal(batch_id, tracks), now))  # fmt: skip
        return batch_id

    def split(self, batch: Batch, refused: set[str], status: int, detail: str, now: float) -> Batch:
        """Govern refused some of a batch's tracks, named: they stay aside under the batch's id with the reason, and
        the others become a new batch, due now, under a new idempotency key (the old one is bound to the whole body,
        which Govern recorded nothing of). One transaction: a crash leaves either the batch or its two halves."""
        kept = [track for track in batch.body["tracks"] if track["track"] in refused]
        rest = [track for track in batch.body["tracks"] if track["track"] not in refused]
        rest_id = str(uuid.uuid4())
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "UPDATE batch SET sealed = ?, state = 'refused', refusal = ? WHERE id = ?",
                    (self._seal(batch.id, kept), f"{status}: {detail}", batch.id),
                )
                self._db.execute(
                    "INSERT INTO batch (id, made_at, sealed, next_attempt) VALUES (?, ?, ?, ?)",
                    (rest_id, now, self._seal(rest_id, rest), now),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return Batch(rest_id, {"batch": rest_id, "tracks": rest}, 0)

    def _open(self, batch_id: str, sealed: bytes) -> dict:
        return json.loads(self._aead.decrypt(sealed[:12], sealed[12:], batch_id.encode()))

    def due(self, now: float) -> list[Batch]:
        """Pending batches whose next attempt is due, oldest first."""
        rows = self._sql(
            "SELECT id, sealed, attempts FROM batch WHERE state = 'pending' AND next_attempt <= ? ORDER BY made_at, id",
            (now,),
        )
        return [Batch(batch_id, self._open(batch_id, sealed), attempts) for batch_id, sealed, attempts in rows]

    def acknowledged(self, batch_id: str) -> None:
        """Govern recorded the batch (201) or had recorded it (200 duplicate): it leaves the queue."""
        self._sql("DELETE FROM batch WHERE id = ?", (batch_id,))

    def failed(self, batch_id: str, now: float) -> float:
        """The link failed (or Govern could not answer): try again after a backoff that doubles, with jitter, up to
        BACKOFF_MOST. The time of the next attempt."""
        [(attempts,)] = self._sql("SELECT attempts FROM batch WHERE id = ?", (batch_id,))
        wait = min(BACKOFF_MOST, BACKOFF_FIRST * 2**attempts) * random.uniform(0.5, 1.0)
        self._sql("UPDATE batch SET attempts = attempts + 1, next_attempt = ? WHERE id = ?", (now + wait, batch_id))
        return now + wait

    def refuse(self, batch_id: str, status: int, detail: str) -> None:
        """Govern refused the batch for a reason resending will not change: kept aside, not retried."""
        self._sql("UPDATE batch SET state = 'refused', refusal = ? WHERE id = ?", (f"{status}: {detail}", batch_id))

    def pending(self) -> int:
        """How many batches wait to be sent."""
        [(count,)] = self._sql("SELECT count(*) FROM batch WHERE state = 'pending'")
        return count

    def refused(self) -> list[tuple[str, str]]:
        """The batches kept aside, with Govern's reasons."""
        return self._sql("SELECT id, refusal FROM batch WHERE state = 'refused' ORDER BY made_at")

    def next_attempt(self) -> float | None:
        """When the earliest pending batch is next due (None with none pending)."""
        [(when,)] = self._sql("SELECT min(next_attempt) FROM batch WHERE state = 'pending'")
        return when
