"""The closed lists of the requests desk: the rights, the states, how identity was checked, the grounds of refusal,
the clock, and the audit actions."""

from django.db import models

from apps.audit.choices import ActionKind

# DPA 2018 s.54(2): the applicable time period is one month from receipt. Part 3 names no extension; one for a
# complex request, as UK GDPR Art. 12(3) allows, is the force's policy (check), at most this many months, with a reason.
RESPONSE_MONTHS = 1
MAX_EXTENSION_MONTHS = 2
NEAR_DUE_DAYS = 7  # the home inbox counts requests due within this many days
MIN_TEXT = 10  # the shortest reason, note or response worth the name


class RequestKind(models.TextChoices):
    """The rights of Part 3 a person may exercise against the force."""

    ACCESS = "access", "Access (s.45)"
    RECTIFICATION = "rectification", "Rectification (s.46)"
    ERASURE = "erasure", "Erasure (s.47)"
    RESTRICTION = "restriction", "Restriction of processing (s.47)"


class RequestState(models.TextChoices):
    """Where a request is; each state names what it waits for."""

    RECEIVED = "received", "Received: identity to check"
    VERIFIED = "verified", "Identity checked: decision due"
    DECIDED = "decided", "Decided: response due"
    CLOSED = "closed", "Responded (closed)"


OPEN_STATES = [RequestState.RECEIVED, RequestState.VERIFIED, RequestState.DECIDED]


class Channel(models.TextChoices):
    """How the request reached the force."""

    POST = "post", "Letter"
    EMAIL = "email", "Email"
    ONLINE = "online", "Online form"
    IN_PERSON = "in_person", "In person at a police station"
    REPRESENTATIVE = "representative", "Through a solicitor or representative"


class IdentityMethod(models.TextChoices):
    """How the requester's identity was checked before any decision."""

    PHOTO_DOCUMENT = "photo_document", "Photographic document seen (passport, driving licence)"
    TWO_DOCUMENTS = "two_documents", "Two documents with name and address"
    IN_PERSON = "in_person", "Seen in person against the custody record"
    REPRESENTATIVE_AUTHORITY = "representative_authority", "Representative's signed authority and the person's ID"


class Decision(models.TextChoices):
    """A privacy officer's decision."""

    GRANT = "grant", "Grant"
    REFUSE = "refuse", "Refuse, in whole or in part"


class RefusalGround(models.TextChoices):
    """The grounds on which a right may be restricted or refused: DPA 2018 s.45(4) (access) and s.48(3) (rectification,
    erasure, restriction) name the same five; s.53(1) adds a manifestly unfounded or excessive request."""

    OBSTRUCT_INQUIRY = "obstruct_inquiry", "Avoid obstructing an official or legal inquiry, investigation or procedure"
    PREJUDICE_CRIME = (
        "prejudice_crime",
        (
            "Avoid prejudicing the prevention, detection, investigation or prosecution of criminal offences or the "
            "execution of criminal penalties"
        ),
    )
    PUBLIC_SECURITY = "public_security", "Protect public security"
    NATIONAL_SECURITY = "national_security", "Protect national security"
    RIGHTS_OF_OTHERS = "rights_of_others", "Protect the rights and freedoms of others"
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded", "Manifestly unfounded or excessive (s.53(1))"


AUDIT_ACTIONS = {
    "rights_request.log": "Data-subject request logged",
    "rights_request.link": "Data-subject request linked to the person's record",
    "rights_request.identity": "Data-subject request: identity checked",
    "rights_request.extend": "Data-subject request: time limit extended",
    "rights_request.decide": "Data-subject request decided",
    "rights_request.respond": "Data-subject request answered (closed)",
}
# Telling the person what the force holds about them is a disclosure in the terms of DPA 2018 s.62.
DISCLOSURE_ACTIONS = {"rights_request.pack": "Access request response pack produced"}
DISCLOSURE_KIND = ActionKind.DISCLOSURE
