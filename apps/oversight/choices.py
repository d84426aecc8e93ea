"""Data classes, governed settings, notification levels and the oversight app's audit actions."""

from django.db import models

from apps.audit.choices import ActionKind


class DataClass(models.TextChoices):
    """What a retention policy governs."""

    FALSE_ALERTS = "false_alerts", "False alerts (probe images)"
    CONFIRMED_ALERTS = "confirmed_alerts", "Confirmed alerts without an evidential hold (probe images)"
    RETROSPECTIVE_PROBES = "retrospective_probes", "Retrospective probes after the case closed (candidate lists)"
    WATCHLISTS = "watchlists", "Watchlists after the deployment ended"
    ACCESS_LOGS = "access_logs", "Access logs (DPA 2018 s.62): who consulted what and why"
    CUSTODY_IMAGES = "custody_images", "Custody images and their subjects, after the last image or change"
    DISCLOSURE_CASES = "disclosure_cases", "Sarah's Law cases after completion"
    ALERT_RECORDS = "alert_records", "Alert records' text (judgement reasons, notes, candidates)"
    OPEN_SEARCHES = "open_searches", "Retrospective searches never closed (stills and candidates)"
    SUBJECT_HISTORY = "subject_history", "Subject history (past names, dates of birth, PNC ids)"


class ChangeKind(models.TextChoices):
    """A setting that changes only through a countersigned approval."""

    THRESHOLD = "threshold", "Match threshold"
    ENGINE = "engine", "Face engine"


class ChangeState(models.TextChoices):
    """Where a proposed change stands."""

    PROPOSED = "proposed", "Proposed, awaiting countersignature"
    IN_FORCE = "in_force", "In force"
    SUPERSEDED = "superseded", "Superseded"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Level(models.TextChoices):
    """How urgent a notification is."""

    RED = "red", "Needs action"
    AMBER = "amber", "Attention"


AUDIT_ACTIONS = {
    "retention.policy_set": ("Retention policy set", ActionKind.CHANGE),
    "retention.sweep": ("Retention sweep ran", ActionKind.SYSTEM),
    "retention.reviewed": ("Retention period reviewed", ActionKind.CHANGE),
    "retention.deleted": ("Rows deleted under retention (receipt per row)", ActionKind.ERASURE),
    "governance.proposed": ("Governed setting change proposed", ActionKind.CHANGE),
    "governance.countersigned": ("Governed setting change countersigned and in force", ActionKind.CHANGE),
    "governance.rejected": ("Governed setting change rejected", ActionKind.CHANGE),
    "governance.withdrawn": ("Governed setting change withdrawn", ActionKind.CHANGE),
    "oversight.notified": ("Privacy officers notified", ActionKind.SYSTEM),
    "oversight.resolved": ("Oversight finding resolved", ActionKind.SYSTEM),
    "bundle.exported": ("Evidence bundle exported", ActionKind.DISCLOSURE),
    "access_log.exported": ("Access log exported", ActionKind.DISCLOSURE),
}
