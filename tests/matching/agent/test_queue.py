"""The local durable queue: encrypted at rest, survives a restart, backs off, keeps refusals aside."""

import base64
import sqlite3

import pytest
from cryptography.exceptions import InvalidTag

from apps.matching.agent.queue import BACKOFF_MOST, BatchQueue

CREDENTIAL = "kid123.camera-secret-for-tests"
CROP = bytes(range(256)) * 8  # a stand-in for a JPEG crop: its bytes are easy to look for


def _alert() -> dict:
    return {
        "track": "0f8e3c52-5d7e-4c38-9a57-2f7a5d0c9b11",
        "first_seen": "2027-01-15T10:00:00.000+00:00",
        "last_seen": "2027-01-15T10:00:04.000+00:00",
        "frames": 40,
        "faces": 38,
        "best_score": 0.93,
        "decision": "alert",
        "entry": 5,
        "candidates": [{"entry": 5, "score": 0.93}],
        "crop": base64.b64encode(CROP).decode(),
        "commitment": "ab" * 32,
    }


def _files(directory) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(directory.iterdir()))


def test_the_file_holds_no_crop_score_or_time_in_clear(tmp_path):
    queue = BatchQueue(tmp_path, CREDENTIAL)
    batch_id = queue.put([_alert()], now=100.0)
    on_disk = _files(tmp_path)  # the database and its write-ahead log
    queue.close()
    on_disk += _files(tmp_path)
    for clear in (CROP[:64], _alert()["crop"][:64].encode(), b"alert", b"0.93", b"2027-01-15", b"ab" * 32):
        assert clear not in on_disk
    assert batch_id.encode() in on_disk  # the idempotency key is the row's key, and nothing personal


def test_a_batch_survives_a_restart_with_its_idempotency_key_and_body(tmp_path):
    queue = BatchQueue(tmp_path, CREDENTIAL)
    batch_id = queue.put([_alert()], now=100.0)
    queue.close()
    reopened = BatchQueue(tmp_path, CREDENTIAL)
    (batch,) = reopened.due(now=100.0)
    assert batch.id == batch_id and batch.body == {"batch": batch_id, "tracks": [_alert()]}
    reopened.acknowledged(batch_id)
    assert reopened.pending() == 0 and reopened.due(now=1e12) == []


def test_another_credential_opens_nothing(tmp_path):
    BatchQueue(tmp_path, CREDENTIAL).put([_alert()], now=100.0)
    with pytest.raises(InvalidTag):
        BatchQueue(tmp_path, "kid999.another-van").due(now=100.0)


def test_a_body_moved_to_another_batch_does_not_open(tmp_path):
    queue = BatchQueue(tmp_path, CREDENTIAL)
    first, second = queue.put([_alert()], now=100.0), queue.put([], now=100.0)
    with sqlite3.connect(tmp_path / "queue.sqlite3") as db:
        (sealed,) = db.execute("SELECT sealed FROM batch WHERE id = ?", (first,)).fetchone()
        db.execute("UPDATE batch SET sealed = ? WHERE id = ?", (sealed, second))
    with pytest.raises(InvalidTag):
        queue.due(now=100.0)


def test_a_failed_send_backs_off_doubling_up_to_a_minute(tmp_path):
    queue = BatchQueue(tmp_path, CREDENTIAL)
    batch_id = queue.put([_alert()], now=0.0)
    waits = [queue.failed(batch_id, now=0.0) for _ in range(10)]
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0 and max(waits) <= BACKOFF_MOST
    assert queue.due(now=0.0) == [] and len(queue.due(now=BACKOFF_MOST)) == 1


def test_a_refused_batch_is_kept_aside_and_not_resent(tmp_path):
    queue = BatchQueue(tmp_path, CREDENTIAL)
    batch_id = queue.put([_alert()], now=0.0)
    queue.refuse(batch_id, 403, "Track captured outside the live window.")
    assert queue.due(now=1e12) == [] and queue.pending() == 0
    assert queue.refused() == [(batch_id, "403: Track captured outside the live window.")]
