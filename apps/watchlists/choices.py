"""The closed lists of the watchlists app: categories, legal bases, states, and its audit actions."""

from django.db import models


class Category(models.TextChoices):
    """Who may be on a watchlist (College of Policing APP on LFR); there is no catch-all, by design (Bridges)."""

    WANTED_BY_COURTS = "wanted_by_courts", "Wanted by the courts"
    WANTED_FOR_OFFENCE = "wanted_for_offence", "Wanted for an offence"
    MISSING_AT_RISK = "missing_at_risk", "Missing or vulnerable person at risk"
    COURT_ORDER_OR_BAIL = "court_order_or_bail", "Subject to a court order or bail condition"
    RISK_OF_HARM = "risk_of_harm", "Risk of harm to themselves or others"


# The detail each category needs besides the justification.
CATEGORY_DETAIL = {
    Category.WANTED_FOR_OFFENCE: ("offence", "the offence"),
    Category.COURT_ORDER_OR_BAIL: ("order_details", "the order or bail condition"),
}


class Sex(models.TextChoices):
    """Sex as recorded, for equality monitoring."""

    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    NOT_STATED = "not_stated", "Not stated"


class Ethnicity(models.TextChoices):
    """Self-defined ethnicity, the 18+1 codes of the 2021 census used by police forces (equality monitoring)."""

    A1 = "A1", "Asian or Asian British: Indian"
    A2 = "A2", "Asian or Asian British: Pakistani"
    A3 = "A3", "Asian or Asian British: Bangladeshi"
    A4 = "A4", "Asian or Asian British: Chinese"
    A9 = "A9", "Asian or Asian British: any other Asian background"
    B1 = "B1", "Black or Black British: Caribbean"
    B2 = "B2", "Black or Black British: African"
    B9 = "B9", "Black or Black British: any other Black background"
    M1 = "M1", "Mixed: White and Black Caribbean"
    M2 = "M2", "Mixed: White and Black African"
    M3 = "M3", "Mixed: White and Asian"
    M9 = "M9", "Mixed: any other mixed background"
    W1 = "W1", "White: English, Welsh, Scottish, Northern Irish or British"
    W2 = "W2", "White: Irish"
    W3 = "W3", "White: Gypsy or Irish Traveller"
    W4 = "W4", "White: Roma"
    W9 = "W9", "White: any other White background"
    O2 = "O2", "Other ethnic group: Arab"
    O9 = "O9", "Other ethnic group: any other ethnic group"
    NS = "NS", "Not stated"


class LegalBasis(models.TextChoices):
    """Why the force lawfully holds an image."""

    PACE_CUSTODY = "pace_custody", "Custody image taken under PACE s.64A"
    COURT_WARRANT = "court_warrant", "Supplied with a court warrant or order"
    MISSING_PERSON = "missing_person", "Supplied for a missing person investigation"
    OTHER_LAWFUL = "other_lawful", "Other lawful basis (stated in the note)"


class WatchlistState(models.TextChoices):
    """Where a watchlist is in its life."""

    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted for approval"
    APPROVED = "approved", "Approved"
    RETURNED = "returned", "Returned for changes"
    EXPIRED = "expired", "Expired"
    PURGED = "purged", "Purged"


EDITABLE_STATES = {WatchlistState.DRAFT, WatchlistState.SUBMITTED, WatchlistState.APPROVED, WatchlistState.RETURNED}


class ApprovalRoute(models.TextChoices):
    """Standard: an authorising officer of the minimum rank. Urgent: an Inspector, ratified later."""

    STANDARD = "standard", "Standard"
    URGENT = "urgent", "Urgent (needs ratification)"


class ReviewState(models.TextChoices):
    """The outcome of one submitted version's review."""

    OPEN = "open", "Awaiting decision"
    APPROVED = "approved", "Approved"
    RETURNED = "returned", "Returned for changes"
    WITHDRAWN = "withdrawn", "Withdrawn (changed before a decision)"
    LAPSED = "lapsed", "Urgent approval lapsed unratified"


AUDIT_ACTIONS = {
    "subject.create": "Subject created",
    "subject.update": "Subject changed",
    "custody_image.upload": "Custody image uploaded",
    "watchlist.create": "Watchlist created",
    "watchlist.update": "Watchlist details changed",
    "watchlist.new_version": "New watchlist version started",
    "watchlist.entry_add": "Entry added to a watchlist",
    "watchlist.entry_update": "Watchlist entry changed",
    "watchlist.entry_remove": "Entry removed from a watchlist",
    "watchlist.submit": "Watchlist submitted for approval",
    "watchlist.approve": "Watchlist approved",
    "watchlist.return": "Watchlist returned for changes",
    "watchlist.ratify": "Urgent approval ratified",
    "watchlist.approval_lapsed": "Urgent approval lapsed unratified",
    "watchlist.expire": "Watchlist expired",
    "watchlist.purge": "Watchlist purged (manifest kept)",
    "subject.restrict": "Processing of a subject restricted (kept off watchlists and out of matching)",
    "subject.restriction_lift": "Restriction of a subject's processing lifted",
    "subject.erase": "Subject erased, with everything held about them (deletion receipt)",
    "custody_image.erase": "Custody image erased, with its copies (deletion receipt)",
    "watchlist.entry_erase": "Erased person taken off a watchlist (deletion receipt)",
}
