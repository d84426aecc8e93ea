"""States and audit actions of the matching app."""

from django.db import models


class AlertState(models.TextChoices):
    """An alert waits for a human: nothing is done on it before adjudication."""

    PENDING = "pending", "Awaiting adjudication"
    CONFIRMED = "confirmed", "Judged a true match"
    FALSE = "false", "Judged a false alert"
    ENGAGED = "engaged", "Engaged"
    CLOSED = "closed", "Outcome recorded"


class Outcome(models.TextChoices):
    """What followed an engagement."""

    ARREST = "arrest", "Arrest"
    OTHER_ACTION = "other_action", "Other action"
    NO_ACTION = "no_action", "No action"


AUDIT_ACTIONS = {
    "engine.approve": "Face engine approved for live use",
    "camera.credential_issued": "Camera credential issued",
    "camera.credential_revoked": "Camera credential revoked",
    "templates.enrolled": "Watchlist templates enrolled",
    "templates.enrol_failed": "Watchlist images failed the quality gate",
    "templates.purged": "Watchlist templates purged",
    "capture.refused": "Frame refused",
    "capture.processed": "Frame processed",
    "alert.raised": "Alert raised",
    "alert.adjudicated": "Alert adjudicated",
    "alert.engaged": "Engagement recorded",
    "alert.outcome": "Engagement outcome recorded",
    "face.deleted": "Non-matching face destroyed (deletion receipt)",
}
