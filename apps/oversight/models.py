"""Retention policies, countersigned changes to the threshold and engine, and notifications to privacy officers."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from govern.restricted import RestrictedManager

from .choices import ChangeKind, ChangeState, DataClass, Level

USER = settings.AUTH_USER_MODEL


class RetentionPolicy(models.Model):
    """How long one class of data is kept; set only by a privacy officer, with a reason."""

    data_class = models.CharField(max_length=32, choices=DataClass.choices, unique=True)
    hours = models.PositiveIntegerField(help_text="Kept this many hours after the event that starts the clock.")
    reason = models.TextField()
    changed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["data_class"]
        verbose_name_plural = "retention policies"

    def __str__(self):
        return f"{self.get_data_class_display()}: {self.hours} h"


class RetentionReview(models.Model):
    """A privacy officer's review of one class's period: who reviewed it, when, what they found and when it is next
    due. Kept, never edited: the record that the period is looked at, not only set."""

    data_class = models.CharField(max_length=32, choices=DataClass.choices)
    hours = models.PositiveIntegerField(help_text="The period in force when it was reviewed.")
    finding = models.TextField(help_text="Why the period is still right, or what is to change.")
    reviewed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField()
    next_review_on = models.DateField()

    objects = RestrictedManager()

    class Meta:
        ordering = ["data_class", "-reviewed_at", "-pk"]
        indexes = [models.Index(fields=["data_class", "-reviewed_at"], name="retentionreview_latest")]

    def __str__(self):
        return f"{self.get_data_class_display()} reviewed {self.reviewed_at:%Y-%m-%d}, next {self.next_review_on}"


class GovernedChange(models.Model):
    """A proposed new match threshold or face engine: in force only once a privacy officer countersigns it."""

    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    version = models.PositiveIntegerField(help_text="Numbered per kind, in the order proposed.")
    threshold = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    engine_name = models.CharField(max_length=100, blank=True)
    engine_weights_sha256 = models.CharField(max_length=64, blank=True)
    engine_calibrated = models.BooleanField(null=True, blank=True)
    reason = models.TextField()
    equality_evidence = models.TextField(help_text="What the evaluation and any test report show, by group.")
    evaluation = models.ForeignKey(
        "matching.EngineEvaluation",
        null=True,  # changes made before evaluations were computed
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The computed evaluation of the engine in force the proposal cites.",
    )
    safety = models.JSONField(
        default=dict, blank=True, help_text="What the evaluation forecast at the threshold, for which list size."
    )
    evidence_name = models.CharField(max_length=200, blank=True)
    evidence_content_type = models.CharField(max_length=100, blank=True)
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    evidence = models.BinaryField(editable=False, default=b"")
    state = models.CharField(max_length=16, choices=ChangeState.choices, default=ChangeState.PROPOSED)
    proposed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="governedchange_unique_version"),
            # One open proposal and one change in force per kind, whatever the code above does.
            models.UniqueConstraint(
                fields=["kind"], condition=Q(state="proposed"), name="governedchange_one_open_per_kind"
            ),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(state="in_force"), name="governedchange_one_in_force_per_kind"
            ),
            models.CheckConstraint(
                condition=~Q(kind="threshold") | Q(threshold__isnull=False), name="governedchange_threshold_value"
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("proposed_by")),
                name="governedchange_two_people",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} v{self.version}: {self.value_label}"

    @property
    def value_label(self) -> str:
        """The proposed value in words."""
        if self.kind == ChangeKind.THRESHOLD:
            return f"{self.threshold}"
        calibrated = "calibrated" if self.engine_calibrated else "UNCALIBRATED"
        return f"{self.engine_name} (weights {self.engine_weights_sha256[:12]}…, {calibrated})"


class Notification(models.Model):
    """A finding the privacy officers must see: raised once per problem, resolved when it no longer holds."""

    key = models.CharField(max_length=200, help_text="What the finding is about, e.g. reconcile:deployment:12.")
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.RED)
    title = models.CharField(max_length=200)
    message = models.TextField()
    url = models.CharField(max_length=300, blank=True)
    raised_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=Q(resolved_at__isnull=True), name="notification_one_open")
        ]

    def __str__(self):
        return f"{self.title} ({'open' if self.resolved_at is None else 'resolved'})"
