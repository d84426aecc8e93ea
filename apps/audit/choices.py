"""Kinds of audit events and the audit app's own actions."""

from django.db import models


class ActionKind(models.TextChoices):
    """What an event records, in the terms of DPA 2018 s.62."""

    CHANGE = "change", "Collection or alteration"
    CONSULTATION = "consultation", "Consultation"
    DISCLOSURE = "disclosure", "Disclosure"
    ERASURE = "erasure", "Erasure"
    SYSTEM = "system", "System"


class Secret(models.TextChoices):
    """The secrets `manage.py rotate_secret` rotates."""

    AUDIT_SIGNING = "audit-signing", "Audit checkpoint signing key (Ed25519)"
    RECEIPT = "receipt", "Deletion-receipt commitment key (HMAC-SHA-256)"
    IMAGE = "image", "Image encryption key (AES-256-GCM)"


class DataKeyOwner(models.TextChoices):
    """What a data key encrypts: every custody image of one subject, one alert's probe, or one search's stills."""

    SUBJECT_IMAGES = "subject-images", "A subject's custody images"
    ALERT_PROBE = "alert-probe", "An alert's probe"
    SEARCH_STILLS = "search-stills", "A retrospective search's stills"


class WitnessOutcome(models.TextChoices):
    """What came of submitting a checkpoint to a witness (c2sp.org/tlog-witness)."""

    COSIGNED = "cosigned", "Cosigned"
    REFUSED = "refused", "Refused"  # a 4xx: the witness will not cosign this checkpoint (its answer says why)
    SUPERSEDED = "superseded", "Superseded"  # the witness already cosigned a later checkpoint of this log
    UNREACHABLE = "unreachable", "Unreachable"  # no answer, or a 5xx: retried with backoff


CONSULTATION_ACTION = "record.consulted"
KEY_ROTATED = "audit.key_rotated"
KEY_RETIRED = "audit.key_retired"
EVENTS_EXPORTED = "audit.events_exported"
CONSULTATIONS_REDACTED = "audit.consultations_redacted"
# How a redacted event's canonical text begins (migration 0005): no event Python writes can (its first key is "action").
REDACTED_PREFIX = '{"redacted":"'
DATA_KEYS_SWEPT = "audit.data_keys_swept"
CHECKPOINT_ORIGIN_CHANGED = "audit.checkpoint_origin_changed"
CHECKPOINT_WITNESSED = "audit.checkpoint_witnessed"

AUDIT_ACTIONS = {
    CONSULTATION_ACTION: ("Personal data consulted", ActionKind.CONSULTATION),
    KEY_ROTATED: ("Secret key rotated", ActionKind.SYSTEM),
    KEY_RETIRED: ("Retired key destroyed", ActionKind.SYSTEM),
    EVENTS_EXPORTED: ("Audit log exported", ActionKind.DISCLOSURE),
    CONSULTATIONS_REDACTED: ("Consultations past retention redacted (receipt per event)", ActionKind.ERASURE),
    DATA_KEYS_SWEPT: ("Leftover data key files shredded", ActionKind.SYSTEM),
    CHECKPOINT_ORIGIN_CHANGED: ("Checkpoints signed as C2SP notes of a new log origin", ActionKind.SYSTEM),
    CHECKPOINT_WITNESSED: ("Checkpoint submitted to a witness, and its answer", ActionKind.SYSTEM),
}
