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
    """What followed an engagement: the person was who the alert said (and what was done), or was not."""

    CONFIRMED = "confirmed", "Identity confirmed, no further action"
    ARREST = "arrest", "Identity confirmed, arrest"
    OTHER_ACTION = "other_action", "Identity confirmed, other action"
    FALSE_AFTER_ENGAGEMENT = "false_after_engagement", "Not the person: found false after engagement"
    # Recorded before stop records existed: nothing was said of the person's identity. Kept as it was, never chosen.
    NO_ACTION = "no_action", "No further action (recorded before stop records)"

    @classmethod
    def recordable(cls) -> list[tuple[str, str]]:
        """The outcomes an officer may record now."""
        return [(value, label) for value, label in cls.choices if value != cls.NO_ACTION]


class IdentityCheck(models.TextChoices):
    """How officers checked who the person they stopped was."""

    DOCUMENT = "document", "Identity document seen"
    DATABASE = "database", "Name and date of birth checked on the PNC"
    FINGERPRINT = "fingerprint", "Mobile fingerprint check"
    KNOWN = "known", "Known to the officer"
    NOT_CHECKED = "not_checked", "Not checked"


# What the officer perceived of the person an alert concerned: not the listed subject (a false alert flagged someone
# else), so equality monitoring measures the people the engine flagged. Perceived, never asked; "not recorded" is a
# valid answer.
class PerceivedSex(models.TextChoices):
    """The person's sex as the officer perceived it."""

    FEMALE = "female", "Female"
    MALE = "male", "Male"
    NOT_RECORDED = "not_recorded", "Not recorded"


class AgeBand(models.TextChoices):
    """The person's age as the officer perceived it, in the bands police statistics use."""

    UNDER_18 = "under_18", "Under 18"
    FROM_18 = "18_24", "18 to 24"
    FROM_25 = "25_34", "25 to 34"
    FROM_35 = "35_44", "35 to 44"
    FROM_45 = "45_54", "45 to 54"
    FROM_55 = "55_64", "55 to 64"
    FROM_65 = "65_over", "65 and over"
    NOT_RECORDED = "not_recorded", "Not recorded"


class EthnicGroup(models.TextChoices):
    """The five broad ethnic groups of the 2021 census (ONS), as the officer perceived them."""

    ASIAN = "asian", "Asian, Asian British or Asian Welsh"
    BLACK = "black", "Black, Black British, Black Welsh, Caribbean or African"
    MIXED = "mixed", "Mixed or Multiple ethnic groups"
    WHITE = "white", "White"
    OTHER = "other", "Other ethnic group"
    NOT_RECORDED = "not_recorded", "Not recorded"


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


class Biometric(models.TextChoices):
    """The kinds of biometric Govern deletes, each proved gone by an exact search and a VACUUM
    (services/deletion_evidence.py)."""

    WATCHLIST_TEMPLATE = "watchlist_template", "Watchlist templates"
    ALERT_PROBE = "alert_probe", "Alert probes"
    SEARCH_STILL = "search_still", "Retrospective stills"
    CUSTODY_TEMPLATE = "custody_template", "Custody templates"


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
    "biometric.absence_confirmed": "Deleted biometrics shown absent by an exact search",
    "biometric.vacuumed": "Table of deleted biometrics vacuumed",
    "probe.candidates_deleted": "Search candidates deleted under retention (receipt)",
    "alert.text_deleted": "Alerts' text deleted under retention (receipt per alert)",
    "engine.approve": "Face engine approved for live use",
    "engine.withdraw": "Face engine approval withdrawn",
    "engine.evaluated": "Face engine evaluated on a labelled face set",
    "camera.credential_issued": "Camera credential issued",
    "camera.credential_revoked": "Camera credential revoked",
    "templates.enrolled": "Watchlist templates enrolled",
    "templates.enrol_failed": "Watchlist images failed the quality gate",
    "templates.reenrolled": "Watchlist re-enrolled on the engine in use",
    "templates.reenrol_failed": "Watchlist re-enrolment on the engine in use failed the quality gate",
    "templates.purged": "Watchlist templates purged",
    "templates.erase": "An erased person's watchlist templates deleted (deletion receipt)",
    "custody_template.erase": (
        "Erased custody images' templates, projections and the watchlist templates made from them deleted "
        "(deletion receipt)"
    ),
    "capture.refused": "Frame refused",
    "capture.processed": "Frame processed",
    "alert.raised": "Alert raised",
    "alert.sighting": "A later track of the alert's subject attached to it (not raised again)",
    "agent.session": "Watchlist templates exported to a capture agent for a live deployment",
    "alert.adjudicated": "Alert adjudicated",
    "alert.engaged": "Engagement recorded",
    "alert.outcome": "Stop recorded: identity check, duration and outcome",
    "alert.complaint": "Complaint about a stop recorded",
    "face.deleted": "Non-matching face destroyed (deletion receipt)",
    "alert.hold": "Evidential hold placed on an alert",
    "alert.hold_released": "Evidential hold released",
    "alert.probe_deleted": "Alert probe deleted under the retention policy (receipt)",
}
