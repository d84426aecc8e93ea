"""The closed lists of the disclosures app: routes, stages, the scheme's clocks, and its audit actions."""

import datetime

from django.conf import settings
from django.db import models

from apps.audit.choices import ActionKind

# The Home Office guidance's clocks, all counted from the first contact (wall-clock time in Europe/London).
CHECKS_PERIOD = datetime.timedelta(hours=24)
MEETING_PERIOD = datetime.timedelta(days=10)
CASE_PERIOD = datetime.timedelta(days=45)
MAX_EXTENSION_DAYS = 60


def public_protection_unit() -> str:
    """The unit whose officers work Sarah's Law cases (the name of the `unit` on their accounts)."""
    return getattr(settings, "PUBLIC_PROTECTION_UNIT", "Public Protection Unit")


class Route(models.TextChoices):
    """How the case began."""

    RIGHT_TO_ASK = "right_to_ask", "Right to ask (application)"
    RIGHT_TO_BE_TOLD = "right_to_be_told", "Right to be told (police information)"


class ContactMethod(models.TextChoices):
    """How the first contact was made."""

    IN_PERSON = "in_person", "In person at a police station"
    TELEPHONE = "telephone", "Telephone (101)"
    ONLINE = "online", "Online form"
    REFERRAL = "referral", "Referral by a partner agency"
    POLICE_INFORMATION = "police_information", "Police information (e.g. a facial recognition alert)"


class Stage(models.TextChoices):
    """Where a case is; each stage names what it waits for."""

    CONTACT = "contact", "Initial contact: checks due"
    CHECKED = "checked", "Checks done: face-to-face meeting due"
    MET = "met", "Met face to face: risk assessment due"
    ASSESSED = "assessed", "Risk assessed: forum decision due"
    TO_DISCLOSE = "to_disclose", "Forum decided to disclose: undertaking due"
    RETURNED = "returned", "Undertaking refused: back to the forum"
    READY = "ready", "Ready to disclose in person"
    DISCLOSED = "disclosed", "Disclosed: outcome letter due"
    NOT_DISCLOSED = "not_disclosed", "Not to disclose: letter due"
    COMPLETED = "completed", "Completed (locked)"


OPEN_STAGES = [stage for stage in Stage if stage != Stage.COMPLETED]
# Stages from which a forum may decide: after the risk assessment, or when the undertaking was refused.
FORUM_STAGES = [Stage.ASSESSED, Stage.RETURNED]


class CheckKind(models.TextChoices):
    """The checks the guidance expects."""

    NATIONAL_SYSTEMS = "national_systems", "National police systems (PNC, PND)"
    SEX_OFFENDER_REGISTER = "sex_offender_register", "Sex offender register (ViSOR)"
    PARTNER_AGENCY = "partner_agency", "Partner agency (children's services, probation, health, education)"
    LOCAL_SYSTEMS = "local_systems", "Local police systems"


class CarerKnows(models.TextChoices):
    """Whether a parent or carer knows of the application."""

    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Not known"


class RiskLevel(models.TextChoices):
    """The risk assessment's conclusion."""

    NONE = "none", "No risk identified"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    VERY_HIGH = "very_high", "Very high"


class Forum(models.TextChoices):
    """Who decides."""

    MULTI_AGENCY = "multi_agency", "Multi-agency forum (MAPPA)"
    LOCAL = "local", "Local decision-making forum"


class Decision(models.TextChoices):
    """A forum's decision."""

    DISCLOSE = "disclose", "Disclose"
    NOT_DISCLOSE = "not_disclose", "Do not disclose"


class UndertakingOutcome(models.TextChoices):
    """What the recipient did when asked to sign."""

    SIGNED = "signed", "Signed"
    REFUSED = "refused", "Refused to sign"


class ExtensionState(models.TextChoices):
    """An extension request."""

    REQUESTED = "requested", "Awaiting a supervisor"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"


class LetterKind(models.TextChoices):
    """The letters the scheme sends."""

    DISCLOSURE_OUTCOME = "disclosure_outcome", "Disclosure outcome letter"
    NON_DISCLOSURE = "non_disclosure", "Non-disclosure letter"


AUDIT_ACTIONS = {
    "disclosure_case.open": "Sarah's Law case opened",
    "disclosure_case.deleted": "Completed Sarah's Law case deleted under retention (receipt)",
    "disclosure_case.open_from_alert": "Sarah's Law case opened from a facial recognition alert",
    "disclosure_case.safeguarding": "Immediate-risk safeguarding referral recorded",
    "disclosure_case.child_added": "Child recorded on a Sarah's Law case",
    "disclosure_case.check": "Check recorded on a Sarah's Law case",
    "disclosure_case.checks_complete": "Sarah's Law checks completed",
    "disclosure_case.meeting": "Face-to-face meeting recorded",
    "disclosure_case.risk_assessment": "Risk assessment recorded",
    "disclosure_case.forum_decision": "Decision forum's decision recorded",
    "disclosure_case.undertaking": "Confidentiality undertaking recorded",
    "disclosure_case.extension_requested": "Extension of a Sarah's Law case requested",
    "disclosure_case.extension_decided": "Extension of a Sarah's Law case decided",
    "disclosure_case.letter": "Sarah's Law letter issued; case completed",
}
# Telling someone what the police hold is a disclosure in the terms of DPA 2018 s.62.
DISCLOSURE_ACTIONS = {"disclosure_case.disclosed": "Disclosure made in person under Sarah's Law"}
DISCLOSURE_KIND = ActionKind.DISCLOSURE
