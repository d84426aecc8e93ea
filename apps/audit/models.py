"""The transparency log: append-only events, the stored nodes of their Merkle tree, and signed checkpoints."""

import json

from django.conf import settings
from django.db import models
from django.db.models import Q

from govern.restricted import RestrictedManager

from .choices import DataKeyOwner


class Event(models.Model):
    """One entry in the audit log; its leaf hash covers every column, and the database refuses to change it."""

    seq = models.BigIntegerField(primary_key=True, help_text="Position in the Merkle tree, from 0, without gaps.")
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    actor_username = models.CharField(max_length=150, help_text="Frozen at the time of the event.")
    request_id = models.UUIDField()
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    canonical = models.TextField(help_text="The canonical JSON of the whole event: what the leaf hash covers.")
    leaf_hash = models.BinaryField(max_length=32)

    objects = RestrictedManager()

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["action", "seq"]),
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["actor", "seq"]),
            models.Index(fields=["created_at"]),
            # The access review: a reader's reads, newest first; and the readers of a period counted from the index.
            models.Index(fields=["actor_username", "seq"], name="audit_event_reader_seq"),
            models.Index(
                fields=["action", "created_at"], include=["actor_username", "actor_id"], name="audit_event_action_time"
            ),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action} by {self.actor_username}"

    @property
    def data(self) -> dict:
        """The event's payload, as hashed."""
        return json.loads(self.canonical)["data"]


class TreeNode(models.Model):
    """A perfect subtree's hash (level >= 1), stored as the log grows so a proof never recomputes the tree."""

    pk = models.CompositePrimaryKey("level", "index")
    level = models.SmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        ordering = ["level", "index"]

    def __str__(self):
        return f"node ({self.level}, {self.index})"


class LogHead(models.Model):
    """The single row that assigns tree positions: locked by each appending transaction, so no gaps."""

    id = models.SmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)
    frontier = models.BinaryField(default=b"", help_text="Roots of the perfect subtrees on the right edge.")

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_loghead_single_row")]

    def __str__(self):
        return f"log head at size {self.size}"


class Checkpoint(models.Model):
    """A signed statement of the tree's size and root: a C2SP signed note of the log's origin (apps/audit/notes.py),
    or, before the log took that format, the first format, whose signed body also held its time. The signing key lives
    in a file, not here."""

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.BinaryField(max_length=32)
    timestamp = models.CharField(
        max_length=40,
        help_text="When it was signed (ISO 8601): the log's record, signed into the body only in the first format.",
    )
    signature = models.BinaryField(max_length=64)
    key_id = models.CharField(max_length=16)
    origin = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="The log's name in the signed note (c2sp.org/tlog-checkpoint); empty in the first format.",
    )

    objects = RestrictedManager()

    class Meta:
        ordering = ["tree_size"]
        get_latest_by = "tree_size"

    def __str__(self):
        return f"checkpoint {self.tree_size} ({self.timestamp})"


class Cosignature(models.Model):
    """A witness's cosignature of a checkpoint (c2sp.org/tlog-cosignature), kept as the signature line it sent, checked
    against the witness's configured key before it was stored; published with the checkpoint, carried by bundles."""

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="cosignatures")
    witness = models.CharField(max_length=255, help_text="The witness's name, as its verifier key names it.")
    key_hash = models.CharField(max_length=8, help_text="The witness key's 4-byte hash, hex (type 0x04).")
    cosigned_at = models.BigIntegerField(help_text="The POSIX time the witness signed into its cosignature.")
    line = models.TextField(help_text="The signature line, as appended to the checkpoint's note.")
    received_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["checkpoint", "witness"]
        constraints = [
            models.UniqueConstraint(fields=["checkpoint", "witness", "key_hash"], name="audit_cosignature_once"),
        ]

    def __str__(self):
        return f"cosignature of checkpoint {self.checkpoint_id} by {self.witness}"


class DataKey(models.Model):
    """A data key of crypto-shredding: which it is and what it encrypts; never the key, which lives in a file outside
    the database (govern/data_key_files.py), so no copy of the database can open what it encrypts once it is destroyed.

    Destroyed, the row stays as a tombstone (its id, owner and when) and its file is gone, so a reader of an image under
    it is told the key was destroyed, and a receipt's key id still names a row.
    """

    id = models.CharField(primary_key=True, max_length=16, help_text="Random: names the key, never reveals it.")
    owner_kind = models.CharField(max_length=16, choices=DataKeyOwner.choices)
    owner_id = models.BigIntegerField(null=True, help_text="The subject's, alert's or search's id.")
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One live key per subject: all of a subject's images are shredded together.
            models.UniqueConstraint(
                fields=["owner_kind", "owner_id"],
                condition=Q(destroyed_at__isnull=True),
                name="audit_datakey_one_live_key_per_owner",
            ),
        ]

    def __str__(self):
        return f"data key {self.pk} ({self.owner_kind} {self.owner_id}{', destroyed' if self.destroyed_at else ''})"
