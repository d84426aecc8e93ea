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
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from . import merkle, registry, signing, verifier
from .choices import CONSULTATION_ACTION
from .context import current_request_id
from .models import Checkpoint, Event, LogHead, TreeNode

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


def record(action: str, target, actor, data: dict | None = None, reason: str = "") -> Event:
    """Append one event to the log inside the caller's transaction; an unregistered action is refused."""
    registry.get(action)
    described = Target.of(target)
    actor_id, actor_username = _actor(actor)
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise AuditDataError(f"Reason is longer than {MAX_REASON_LENGTH} characters.")
    if "\x00" in reason:
        raise AuditDataError("Reason holds a NUL character.")
    payload = json.loads(canonical_json(data or {}))
    request_id: uuid.UUID = current_request_id()

    scope = nullcontext() if connection.in_atomic_block else transaction.atomic()
    with scope:
        head = _lock_head()
        seq = head.size
        created_at = timezone.now()
        body = {
            "v": 1,
            "seq": seq,
            "time": format_time(created_at),
            "actor_id": actor_id,
            "actor": actor_username,
            "request_id": str(request_id),
            "action": action,
            "target_type": described.type,
            "target_id": described.id,
            "reason": reason,
            "data": payload,
        }
        canonical = canonical_json(body)
        if "\\u0000" in canonical:  # PostgreSQL text cannot hold NUL
            raise AuditDataError("Audit data holds a NUL character.")
        leaf = merkle.leaf_hash(canonical.encode())
        event = Event.objects.create(
            seq=seq,
            created_at=created_at,
            actor_id=actor_id,
            actor_username=actor_username,
            request_id=request_id,
            action=action,
            target_type=described.type,
            target_id=described.id,
            reason=reason,
            canonical=canonical,
            leaf_hash=leaf,
        )
        edge = merkle.CompactRange.from_bytes(seq, bytes(head.frontier))
        completed = edge.append(leaf)
        if completed:
            TreeNode.objects.bulk_create([TreeNode(level=lvl, index=idx, hash=h) for lvl, idx, h in completed])
        LogHead.objects.filter(pk=1).update(size=edge.size, frontier=edge.to_bytes())
    return event


def record_access(target, actor, reason: str, data: dict | None = None) -> Event:
    """Log a consultation of personal or biometric data: who, when, what and why (DPA 2018 s.62)."""
    if not reason or not reason.strip():
        raise ReasonRequired("A reason is required to consult this record.")
    return record(CONSULTATION_ACTION, target, actor, data=data, reason=reason)


def tree_size() -> int:
    """How many events the log holds."""
    head = LogHead.objects.filter(pk=1).values_list("size", flat=True).first()
    return head or 0


@transaction.atomic
def sign_checkpoint() -> Checkpoint:
    """Sign the tree as it stands; if nothing was appended since the last checkpoint, return that one."""
    head = _lock_head()  # serialises signers, so two never race for the same size
    size = head.size
    latest = Checkpoint.objects.order_by("-tree_size").first()
    if latest is not None and latest.tree_size == size:
        return latest
    root = merkle.CompactRange.from_bytes(size, bytes(head.frontier)).root()
    timestamp = format_time(timezone.now())
    signature = signing.sign(verifier.checkpoint_message(size, root, timestamp))
    return Checkpoint.objects.create(
        tree_size=size, root_hash=root, timestamp=timestamp, signature=signature, key_id=signing.key_id()
    )
