"""Deployments of live facial recognition: where, when, why, with which list and assets, on which documents."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from apps.watchlists.models import Watchlist
from govern import validators
from govern.restricted import RestrictedManager

from .choices import AssetKind, DeploymentState, DocumentKind, LocationType

USER = settings.AUTH_USER_MODEL


class Asset(models.Model):
    """A van or camera, with its own record; it can be in one deployment at a time."""

    kind = models.CharField(max_length=16, choices=AssetKind.choices)
    identifier = models.CharField(max_length=50, unique=True, help_text="Fleet number or camera serial.")
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "identifier"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.identifier}"


class PolicyDocument(models.Model):
    """One version of a DPIA, equality impact assessment or appropriate policy document."""

    kind = models.CharField(max_length=8, choices=DocumentKind.choices)
    version = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    reference = models.CharField(max_length=200, blank=True, help_text="Where the document itself is kept.")
    approved_on = models.DateField(null=True, blank=True)
    approved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    review_by = models.DateField(help_text="After this date the document is not current until reviewed.")
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "-recorded_at"]
        constraints = [models.UniqueConstraint(fields=["kind", "version"], name="document_version_once")]

    def __str__(self):
        return f"{self.get_kind_display()} v{self.version}"


class Deployment(models.Model):
    """One deployment: the place and its grounds, the period, the list, the threshold, the documents, the gate."""

    reference = models.CharField(max_length=32, unique=True)
    location_name = models.CharField(max_length=200)
    address = models.CharField(max_length=300)
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    location_type = models.CharField(max_length=32, choices=LocationType.choices)
    grounds = models.TextField(help_text="Why this place, now.")
    evidence_refs = models.TextField(blank=True, help_text="References to the evidence behind the grounds.")
    start = models.DateTimeField()
    end = models.DateTimeField()
    # Attached when compiled, within its window shortly before the start; the plan (and its public notice) can come
    # days earlier. No deployment is authorised or runs without one.
    watchlist = models.ForeignKey(
        Watchlist, null=True, blank=True, on_delete=models.PROTECT, related_name="deployments"
    )
    threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.600"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="The match threshold in force (a similarity score from 0 to 1).",
    )
    assets = models.ManyToManyField(Asset, related_name="deployments")
    # The officers who work the deployment: only they (and commanders and privacy officers) see its alerts.
    team = models.ManyToManyField(
        USER, related_name="deployment_teams", blank=True, help_text="The officers working at the deployment."
    )
    documents = models.ManyToManyField(PolicyDocument, related_name="deployments")
    state = models.CharField(max_length=16, choices=DeploymentState.choices, default=DeploymentState.PLANNED)
    planned_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    planned_at = models.DateTimeField(default=timezone.now)
    # Every change to the plan moves the revision: an authorisation names the revision its officer reviewed.
    revision = models.PositiveIntegerField(default=1)
    editors = models.ManyToManyField(
        USER,
        related_name="edited_deployments",
        blank=True,
        help_text="Everyone who changed the plan after it was made.",
    )
    authorised_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    authorised_at = models.DateTimeField(null=True, blank=True)
    authorised_watchlist_hash = models.CharField(max_length=64, blank=True)
    notice_published_at = models.DateTimeField(null=True, blank=True)
    notice_reference = models.CharField(max_length=300, blank=True)
    notice_exemption_reason = models.TextField(blank=True)
    notice_exempted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    signage_up = models.BooleanField(default=False)
    leaflets_available = models.BooleanField(default=False)
    briefing_done = models.BooleanField(default=False)
    went_live_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True, help_text="Why it was cancelled or suspended.")
    last_gate_report = models.JSONField(default=list, blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords(excluded_fields=["last_gate_report"])

    class Meta:
        ordering = ["-start", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="deployment_ends_after_start"),
            models.CheckConstraint(
                condition=~Q(state__in=[DeploymentState.AUTHORISED, DeploymentState.LIVE])
                | ~Q(authorised_watchlist_hash=""),
                name="deployment_authorised_with_hash",
            ),
            models.CheckConstraint(
                condition=Q(state=DeploymentState.PLANNED)
                | Q(state=DeploymentState.CANCELLED)
                | Q(watchlist__isnull=False),
                name="deployment_beyond_planning_has_list",
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.location_name} ({self.get_state_display()})"

    def clean(self):
        """The place is in the United Kingdom: coordinates typed by hand, swapped or with a sign lost, are caught."""
        if isinstance(self.latitude, Decimal | int | float) and isinstance(self.longitude, Decimal | int | float):
            try:
                validators.in_the_united_kingdom(self.latitude, self.longitude)
            except ValidationError as exc:
                raise ValidationError({"latitude": exc.messages}) from exc


class PublishedFigures(models.Model):
    """A deployment's figures as the public and the courts ask for them (faces, alerts, engagements, arrests);
    the matching app keeps the counts from its records."""

    deployment = models.OneToOneField(Deployment, on_delete=models.PROTECT, related_name="figures")
    faces_processed = models.PositiveBigIntegerField(default=0)
    alerts = models.PositiveIntegerField(default=0)
    true_alerts = models.PositiveIntegerField(default=0)
    false_alerts = models.PositiveIntegerField(default=0)
    engagements = models.PositiveIntegerField(default=0)
    arrests = models.PositiveIntegerField(default=0)
    other_outcomes = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(true_alerts__lte=models.F("alerts")) & Q(false_alerts__lte=models.F("alerts")),
                name="outcome_alert_split_within_alerts",
            )
        ]

    def __str__(self):
        return f"figures of {self.deployment_id}"
