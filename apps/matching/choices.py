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


class SearchState(models.TextChoices):
    """A retrospective search request."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Searching"
    READY = "ready", "Candidates ready for review"
    CLOSED = "closed", "Case closed (probes deleted)"


class ProbeState(models.TextChoices):
    """One still in a search."""

    PENDING = "pending", "Waiting"
    REFUSED = "refused", "Refused"
    SEARCHED = "searched", "Candidates ready"
    SELECTED = "selected", "Operator chose a candidate"
    NO_MATCH = "no_match", "Operator found no match"
    CONFIRMED = "confirmed", "Confirmed by the investigating officer"
    DELETED = "deleted", "Deleted at case closure"


AUDIT_ACTIONS = {
    "custody_template.enrolled": "Custody image enrolled for retrospective search",
    "custody_template.refused": "Custody image not searchable (face quality)",
    "custody_projection.fitted": "Custody search index refitted (the gallery's projection, every template projected)",
    "search.submitted": "Retrospective search submitted",
    "search.probe_refused": "Search still refused",
    "search.probe_searched": "Search still compared with custody images",
    "search.operator_choice": "Operator reviewed the candidates",
    "search.confirmed": "Investigating officer confirmed the identification",
    "search.closed": "Search closed; probes deleted",
    "probe.deleted": "Probe image deleted (receipt)",
    "templates.vacuumed": "Template index vacuumed after a purge",
    "probe.candidates_deleted": "Search candidates deleted under retention (receipt)",
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
    "alert.hold": "Evidential hold placed on an alert",
    "alert.hold_released": "Evidential hold released",
    "alert.probe_deleted": "Alert probe deleted under the retention policy (receipt)",
}
