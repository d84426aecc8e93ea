"""The closed lists of the deployments app: location types, states, documents, assets, and its audit actions."""

from django.db import models


class LocationType(models.TextChoices):
    """Why a place is chosen (College of Policing APP on LFR); the grounds are recorded and the AO attests."""

    CRIME_HOTSPOT = "crime_hotspot", "Crime hotspot and its access routes"
    PROTECTIVE_SECURITY = "protective_security", "Protective security at an event or critical site"
    INTELLIGENCE = "intelligence", "Intelligence that sought people are likely to be there"


class DeploymentState(models.TextChoices):
    """Where a deployment is in its life."""

    PLANNED = "planned", "Planned"
    AUTHORISED = "authorised", "Authorised"
    LIVE = "live", "Live"
    SUSPENDED = "suspended", "Suspended"
    STOPPED = "stopped", "Stopped (emergency)"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


# States that hold their assets and place for their period (a stopped one may be authorised anew and run again).
BOOKING_STATES = [
    DeploymentState.PLANNED,
    DeploymentState.AUTHORISED,
    DeploymentState.LIVE,
    DeploymentState.SUSPENDED,
    DeploymentState.STOPPED,
]
# States an emergency stop takes a deployment out of: every one that runs, or could run without a new authorisation.
STOPPABLE_STATES = [DeploymentState.AUTHORISED, DeploymentState.LIVE, DeploymentState.SUSPENDED]


class DocumentKind(models.TextChoices):
    """The documents every deployment rests on."""

    DPIA = "dpia", "Data protection impact assessment"
    EIA = "eia", "Equality impact assessment"
    APD = "apd", "Appropriate policy document"


class AssetKind(models.TextChoices):
    """What captures the faces."""

    VAN = "van", "LFR van"
    CAMERA = "camera", "Fixed or portable camera"


# A document whose review date falls within this many days is listed as due for review.
DOCUMENT_REVIEW_NOTICE_DAYS = 30


AUDIT_ACTIONS = {
    "asset.create": "Asset registered",
    "asset.update": "Asset changed",
    "asset.retire": "Asset retired",
    "document.create": "Policy document version recorded",
    "document.approve": "Policy document version approved",
    "deployment.plan": "Deployment planned",
    "deployment.update": "Deployment plan changed",
    "deployment.team": "Deployment team changed",
    "deployment.authorise": "Deployment authorised",
    "deployment.notice": "Advance public notice published",
    "deployment.notice_exempt": "Advance public notice exemption recorded",
    "deployment.checklist": "On-site checklist updated",
    "deployment.go_live": "Deployment went live",
    "deployment.go_live_refused": "Deployment could not go live",
    "deployment.suspend": "Deployment suspended",
    "deployment.resume": "Deployment resumed",
    "deployment.complete": "Deployment completed",
    "deployment.end_early": "Deployment ended early",
    "deployment.cancel": "Deployment cancelled",
    "deployment.emergency_stop": "Deployment stopped in an emergency",
    "deployment.outcome": "Deployment outcome figures recorded",
}
