"""Writing to the audit log: events (inside the caller's transaction), consultations and signed checkpoints.

Every state change in Govern calls `record` inside its own `transaction.atomic()`, so the change and its
event commit or roll back together. Tree positions are assigned under a lock on the single LogHead row, taken
in the appending transaction: a rollback releases the position, so the tree never has a gap. The lock is held
until the caller commits, so callers record their event as the last step of their transaction.
"""

import datetime
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from govern import prepared
from govern.request_id import current_request_id

from . import merkle, notes, registry, signing, verifier
from .choices import CHECKPOINT_ORIGIN_CHANGED, CONSULTATION_ACTION, CONSULTATIONS_REDACTED, REDACTED_PREFIX
from .models import Checkpoint, Event, LogHead

SYSTEM_ACTOR = "(system)"
ANONYMOUS_ACTOR = "(anonymous)"
MAX_REASON_LENGTH = 2000


class AuditDataError(ValueError):
    """The event's data cannot be written to the log as canonical JSON."""


class ReasonRequired(ValueError):
    """A consultation of personal data needs a stated reason (DPA 2018 s.62)."""


def canonical_json(value) -> str:
    """Sorted keys, no spaces, UTF-8 text, no NaN: the same value always gives the same bytes."""
    try:
        return json.dumps(
            value, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise AuditDataError(f"Audit data is not plain JSON: {exc}") from exc


def commitment(value) -> str:
    """An HMAC of a personal value: the log can prove what was recorded without showing it to its readers."""
    key = hashlib.sha256(b"govern-audit-commitment:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, canonical_json(value).encode(), hashlib.sha256).hexdigest()


def format_time(moment) -> str:
    """The one way a time is written into the log: UTC, ISO 8601, microseconds."""
    return moment.astimezone(datetime.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Target:
    """What an event is about: a model label and a primary key, or nothing."""

    type: str = ""
    id: str = ""

    @classmethod
    def of(cls, target) -> "Target":
        """Describe a model instance, a (type, id) pair, a Target or None."""
        if target is None:
            return cls()
        if isinstance(target, Target):
            return target
        if isinstance(target, tuple) and len(target) == 2:
            return cls(str(target[0]), str(target[1]))
        meta = getattr(target, "_meta", None)
        if meta is None or target.pk is None:
            raise AuditDataError(f"Cannot name {target!r} as an audit target: save it first.")
        return cls(meta.label_lower, str(target.pk))


def _actor(actor) -> tuple[int | None, str]:
    if actor is None:
        return None, SYSTEM_ACTOR
    if not getattr(actor, "is_authenticated", False):
        return None, ANONYMOUS_ACTOR
    return actor.pk, actor.get_username()


def _lock_head() -> LogHead:
    """Take the log's head row for update, creating it on first use."""
    try:
        return LogHead.objects.select_for_update().get(pk=1)
    except LogHead.DoesNotExist:
        LogHead.objects.bulk_create([LogHead(id=1)], ignore_conflicts=True)
        return LogHead.objects.select_for_update().get(pk=1)


_SEQ_MARK, _TIME_MARK = ',"seq":-1,', ',"time":"-","v":'


# The database function that appends an event (migration 0003): it locks the head, takes the position and the time,
# completes the canonical text Python built, hashes it and extends the tree, in one statement.
APPEND_CALL = "audit_append(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
_RECORD_SQL = f"SELECT * FROM {APPEND_CALL}"  # noqa: S608  (constant text)
_SEND_SQL = f"SELECT FROM {APPEND_CALL}"


class AppendParams(NamedTuple):
    """The parameters of APPEND_CALL, in its order: the canonical text around its position and time, which the
    database fills in, then the event's columns."""

    before_seq: str
    before_time: str
    after_time: str
    actor_id: int | None
    actor_username: str
    request_id: uuid.UUID
    action: str
    target_type: str
    target_id: str
    reason: str


def append_params(action: str, target, actor, data: dict | None = None, reason: str = "") -> AppendParams:
    """The parameters of APPEND_CALL for this event, for a statement of the caller's (`INSERT ... SELECT ..., o_seq
    FROM audit_append(...)` keeps the event's position with a row), so a hot path can send several appends without
    waiting for each; an unregistered action is refused."""
    registry.get(action)
    described = Target.of(target)
    actor_id, actor_username = _actor(actor)
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise AuditDataError(f"Reason is longer than {MAX_REASON_LENGTH} characters.")
    if "\x00" in reason:
        raise AuditDataError("Reason holds a NUL character.")
    request_id: uuid.UUID = current_request_id()
    body = {
        "v": 1,
        "seq": -1,
        "time": "-",
        "actor_id": actor_id,
        "actor": actor_username,
        "request_id": str(request_id),
        "action": action,
        "target_type": described.type,
        "target_id": described.id,
        "reason": reason,
        "data": data or {},
    }
    text = canonical_json(body)
    if "\\u0000" in text:  # PostgreSQL text cannot hold NUL
        raise AuditDataError("Audit data holds a NUL character.")
    # "seq" and "time" are top-level keys sorting after "data"; after "data" come only strings, in which a quote
    # is always escaped, so the last occurrence of each mark is the key itself.
    seq_at, time_at = text.rindex(_SEQ_MARK), text.rindex(_TIME_MARK)
    return AppendParams(
        before_seq=text[:seq_at] + ',"seq":',
        before_time=text[seq_at + len(_SEQ_MARK) - 1 : time_at] + ',"time":"',
        after_time='","v":' + text[time_at + len(_TIME_MARK) :],
        actor_id=actor_id,
        actor_username=actor_username,
        request_id=request_id,
        action=action,
        target_type=described.type,
        target_id=described.id,
        reason=reason,
    )


def send(cursor, action: str, target, actor, data: dict | None = None, reason: str = "") -> None:
    """Append one event inside the caller's transaction on its driver cursor, without waiting for the result: in
    psycopg's pipeline mode the append goes with the caller's other statements in one round trip."""
    prepared.execute(cursor, _SEND_SQL, append_params(action, target, actor, data, reason))


def record(action: str, target, actor, data: dict | None = None, reason: str = "") -> Event:
    """Append one event to the log inside the caller's transaction (one call of audit_append); an unregistered
    action is refused."""
    params = append_params(action, target, actor, data, reason)
    # One statement: atomic alone, or part of the caller's transaction. The driver's own cursor: the append is hot
    # (every change, every face) and Django's cursor wrapper costs about as much as the statement's own Python.
    with prepared.cursor() as cursor:
        prepared.execute(cursor, _RECORD_SQL, params)
        seq, created_at, canonical, leaf = cursor.fetchone()
    event = Event(
        seq=seq,
        created_at=created_at,
        actor_id=params.actor_id,
        actor_username=params.actor_username,
        request_id=params.request_id,
        action=action,
        target_type=params.target_type,
        target_id=params.target_id,
        reason=params.reason,
        canonical=canonical,
        leaf_hash=bytes(leaf),
    )
    return prepared.mark_saved(event)


def record_access(target, actor, reason: str, data: dict | None = None) -> Event:
    """Log a consultation of personal or biometric data: who, when, what and why (DPA 2018 s.62)."""
    if not reason or not reason.strip():
        raise ReasonRequired("A reason is required to consult this record.")
    return record(CONSULTATION_ACTION, target, actor, data=data, reason=reason)


def record_export(action: str, target, actor, *, filters: dict, rows: int, fmt: str, reason: str) -> Event:
    """An export of logged records (the audit log, the access log) is itself a disclosure: logged with the filters
    it was made with, how many rows left and in what format."""
    return record(action, target, actor, data={"filters": filters, "rows": rows, "format": fmt}, reason=reason)


_REDACT_SQL = """
UPDATE audit_event SET reason = '' WHERE seq = ANY(ARRAY(
    SELECT seq FROM audit_event WHERE action = %s AND created_at < %s AND seq > %s AND canonical NOT LIKE %s
    ORDER BY seq LIMIT %s
)) RETURNING seq, leaf_hash
"""


def consultations_before(cutoff) -> int:
    """How many consultation events older than the cutoff still hold their payload (what a redaction would take)."""
    return (
        Event.objects.filter(action=CONSULTATION_ACTION, created_at__lt=cutoff)
        .exclude(canonical__startswith=REDACTED_PREFIX)
        .count()
    )


@transaction.atomic
def redact_consultations(cutoff, *, after: int = -1, limit: int, retention_hours: int) -> list[int]:
    """Access-log retention: blank who consulted what and why in up to `limit` consultation events older than the
    cutoff (from the position after `after` on), keeping each leaf hash (the database trigger writes the tombstone),
    with one receipt naming each event and the leaf hash it keeps; the positions done, empty when none is left.
    `audit verify` still passes: the tree is built from leaf hashes, and a tombstone is checked against the leaf it
    names."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(_REDACT_SQL, [CONSULTATION_ACTION, cutoff, after, REDACTED_PREFIX + "%", limit])
        done = sorted((seq, bytes(leaf).hex()) for seq, leaf in cursor.fetchall())
    if done:
        record(
            CONSULTATIONS_REDACTED,
            ("audit.event", f"{done[0][0]}-{done[-1][0]}"),
            None,
            data={"events": dict((str(seq), leaf) for seq, leaf in done), "retention_hours": retention_hours},
        )
    return [seq for seq, _ in done]


def tree_size() -> int:
    """How many events the log holds."""
    head = LogHead.objects.filter(pk=1).values_list("size", flat=True).first()
    return head or 0


@transaction.atomic
def sign_checkpoint() -> Checkpoint:
    """Sign the tree as it stands as a C2SP checkpoint note of the log's origin; if nothing was appended since the last
    checkpoint, return that one.

    When the origin differs from the last checkpoint's (the first note after checkpoints of the first format, or a force
    renaming its log), the change is recorded first, so the first checkpoint of the new origin holds its own
    announcement; `audit verify` requires it.
    """
    head = _lock_head()  # serialises signers, so two never race for the same size
    latest = Checkpoint.objects.order_by("-tree_size").first()
    origin = signing.log_origin()
    if latest is not None and latest.origin != origin:
        record(
            CHECKPOINT_ORIGIN_CHANGED,
            ("audit.log", "origin"),
            None,
            data={
                "from": latest.origin or f"{verifier.CHECKPOINT_ORIGIN} (the first format: its time signed in)",
                "to": origin,
                "format": "c2sp.org/tlog-checkpoint",
                "verifier_key": signing.verifier_key(origin=origin),
                "after_checkpoint": latest.tree_size,
            },
        )
        head = _lock_head()
    size = head.size
    if latest is not None and latest.tree_size == size:
        return latest
    root = merkle.CompactRange.from_bytes(size, bytes(head.frontier)).root()
    signature = signing.sign(notes.Checkpoint(origin, size, root).text().encode())
    return Checkpoint.objects.create(
        tree_size=size,
        root_hash=root,
        timestamp=format_time(timezone.now()),
        signature=signature,
        key_id=signing.key_id(),
        origin=origin,
    )


def checkpoint_note(checkpoint: Checkpoint, public_key: bytes | None = None) -> str | None:
    """The checkpoint as published: its C2SP signed note (None for a checkpoint of the first format, which is not one).
    `public_key` spares a read of the key history when the caller has the signing key at hand."""
    if not checkpoint.origin:
        return None
    if public_key is None:
        public_key = signing.public_key_for(checkpoint.key_id)
        if public_key is None:
            return None  # `audit verify` reports a key the history lacks
    body = notes.Checkpoint(checkpoint.origin, checkpoint.tree_size, bytes(checkpoint.root_hash)).text()
    return str(notes.sign(body, checkpoint.origin, public_key, bytes(checkpoint.signature)))
