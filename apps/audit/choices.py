"""Kinds of audit events and the audit app's own actions."""

from django.db import models


class ActionKind(models.TextChoices):
    """What an event records, in the terms of DPA 2018 s.62."""

    CHANGE = "change", "Collection or alteration"
    CONSULTATION = "consultation", "Consultation"
    DISCLOSURE = "disclosure", "Disclosure"
    ERASURE = "erasure", "Erasure"
    SYSTEM = "system", "System"


CONSULTATION_ACTION = "record.consulted"

AUDIT_ACTIONS = {
    CONSULTATION_ACTION: ("Personal data consulted", ActionKind.CONSULTATION),
}
