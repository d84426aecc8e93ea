"""Subjects and their custody images (the gallery), watchlists, entries, reviews and manifests.

No biometric vector lives here: templates are computed from the images into their own tables by the matching
app. Custody images are not history-tracked, so deleting one really deletes its (encrypted) bytes.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from govern import validators
from govern.restricted import RestrictedManager

from .choices import ApprovalRoute, Category, Ethnicity, LegalBasis, ReviewState, Sex, WatchlistState

USER = settings.AUTH_USER_MODEL


class Subject(models.Model):
    """A person who may be searched for: a custody record's identity, with equality-monitoring fields."""

    family_name = models.CharField(max_length=100)
    given_names = models.CharField(max_length=150)
    date_of_birth = models.DateField(validators=[validators.date_of_birth])
    pnc_id = models.CharField("PNC ID", max_length=20, blank=True, help_text="Police National Computer id, YY/NNNNNNA")
    sex = models.CharField(max_length=16, choices=Sex.choices, default=Sex.NOT_STATED)
    ethnicity = models.CharField("self-defined ethnicity", max_length=2, choices=Ethnicity.choices, default="NS")
    registered_sex_offender = models.BooleanField(
        default=False,
        help_text="On the sex offender register (ViSOR); an alert on this person may open a Sarah's Law case.",
    )
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["family_name", "given_names", "id"]
        constraints = [models.UniqueConstraint(fields=["pnc_id"], condition=~Q(pnc_id=""), name="subject_unique_pnc")]

    def __str__(self):
        return f"{self.family_name.upper()}, {self.given_names}"

    def age_on(self, day: datetime.date) -> int:
        """Age in whole years on a day."""
        return validators.age_on(self.date_of_birth, day)

    def clean(self):
        """A date of birth a person in custody can have (the field refuses the future and before 1900)."""
        if isinstance(self.date_of_birth, datetime.date):
            try:
                validators.old_enough_to_be_arrested(self.date_of_birth, timezone.localdate())
            except ValidationError as exc:
                raise ValidationError({"date_of_birth": exc.messages}) from exc


class SubjectRestriction(models.Model):
    """A restriction of processing (DPA 2018 s.47(2)): while it stands the subject is kept off every watchlist and
    their templates out of matching; lifted, it stays as the record of when it held."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="restrictions")
    grounds = models.TextField(help_text="Why processing is restricted, e.g. the accuracy the person contests.")
    request_reference = models.CharField(max_length=32, help_text="The data-subject request that decided it.")
    imposed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    imposed_at = models.DateTimeField()
    lifted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.TextField(blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["subject", "imposed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject"], condition=Q(lifted_at__isnull=True), name="subject_one_standing_restriction"
            ),
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True) | Q(lifted_by__isnull=False), name="subject_restriction_lifted_by"
            ),
        ]

    def __str__(self):
        return f"restriction of {self.subject_id} ({'lifted' if self.lifted_at else 'standing'})"

    @property
    def standing(self) -> bool:
        """Whether the restriction still holds."""
        return self.lifted_at is None


class CustodyImage(models.Model):
    """One image of a subject, encrypted at rest; served only through a view that logs the consultation."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="images")
    captured_on = models.DateField()
    source_system = models.CharField(max_length=100, help_text="Where the image came from, e.g. the custody suite.")
    legal_basis = models.CharField(max_length=32, choices=LegalBasis.choices)
    legal_basis_note = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    content_type = models.CharField(max_length=32)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, help_text="Of the original bytes, for evidential integrity.")
    key_id = models.CharField(max_length=16)
    ciphertext = models.BinaryField(editable=False)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-captured_on", "-id"]

    def __str__(self):
        return f"image {self.pk} of subject {self.subject_id} ({self.captured_on})"

    def associated_data(self) -> bytes:
        """What the ciphertext is bound to, so an image cannot be swapped between records."""
        return f"custody-image:{self.subject_id}:{self.sha256}".encode()


class Watchlist(models.Model):
    """The people sought at one deployment, each for a stated reason; approved version by version."""

    reference = models.CharField(max_length=32, unique=True)
    purpose = models.TextField(help_text="The deployment's purpose this list is compiled for.")
    intended_start = models.DateTimeField()
    intended_end = models.DateTimeField()
    state = models.CharField(max_length=16, choices=WatchlistState.choices, default=WatchlistState.DRAFT)
    version = models.PositiveIntegerField(default=1)
    revision = models.PositiveIntegerField(default=1, help_text="Moves on every change; the ETag names it.")
    compiled_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The approval in force (cleared when a new version starts).
    approved_version = models.PositiveIntegerField(null=True, blank=True)
    approved_hash = models.CharField(max_length=64, blank=True)
    approved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_route = models.CharField(max_length=16, choices=ApprovalRoute.choices, blank=True)
    ratify_by = models.DateTimeField(null=True, blank=True)
    ratified_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ratified_at = models.DateTimeField(null=True, blank=True)
    purge_due_at = models.DateTimeField(null=True, blank=True, help_text="Set when its deployment ends.")

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-intended_start", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(intended_end__gt=models.F("intended_start")), name="watchlist_ends_after_start"
            ),
            models.CheckConstraint(
                condition=~Q(state=WatchlistState.APPROVED)
                | (Q(approved_version=models.F("version")) & ~Q(approved_hash="")),
                name="watchlist_approval_matches_version",
            ),
            # Separation of duties, held by the database too: nobody approves the list they compiled.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("compiled_by")),
                name="watchlist_approver_is_not_compiler",
            ),
        ]

    def __str__(self):
        return f"{self.reference} v{self.version} ({self.get_state_display()})"


class Entry(models.Model):
    """One person on a watchlist: the image to match, the category, and why they are there."""

    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="entries")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="entries")
    image = models.ForeignKey(CustodyImage, on_delete=models.PROTECT, related_name="entries")
    category = models.CharField(max_length=32, choices=Category.choices)
    offence = models.CharField(max_length=200, blank=True)
    order_details = models.CharField(max_length=300, blank=True)
    justification = models.TextField()
    under_18_rationale = models.TextField(blank=True)
    added_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["watchlist", "id"]
        constraints = [
            models.UniqueConstraint(fields=["watchlist", "subject"], name="entry_one_per_subject"),
            models.CheckConstraint(condition=~Q(justification=""), name="entry_has_justification"),
        ]

    def __str__(self):
        return f"{self.subject} on {self.watchlist.reference}"


class VersionEditor(models.Model):
    """Who compiled or edited a version: none of them may approve it."""

    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="editors")
    version = models.PositiveIntegerField()
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["watchlist", "version", "user"], name="version_editor_once")]

    def __str__(self):
        return f"{self.user_id} edited {self.watchlist_id} v{self.version}"


class Review(models.Model):
    """The approval workflow of one submitted version, bound to the hash of exactly what was submitted."""

    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="reviews")
    version = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    snapshot = models.JSONField(help_text="The version as reviewed (no biometrics): what the hash covers.")
    state = models.CharField(max_length=16, choices=ReviewState.choices, default=ReviewState.OPEN)
    submitted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    route = models.CharField(max_length=16, choices=ApprovalRoute.choices, blank=True)
    comment = models.TextField(blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["watchlist"], condition=Q(state=ReviewState.OPEN), name="review_one_open_per_watchlist"
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("submitted_by")),
                name="review_decider_is_not_submitter",
            ),
        ]

    def __str__(self):
        return f"review of {self.watchlist_id} v{self.version}: {self.state}"


class Manifest(models.Model):
    """What stays after a purge: who was listed, in which category, who approved, when — never biometrics."""

    watchlist = models.OneToOneField(Watchlist, on_delete=models.PROTECT, related_name="manifest")
    created_at = models.DateTimeField(auto_now_add=True)
    data = models.JSONField()
    # How many people it lists, counted by the database as the manifest is written: the public pages give a thousand
    # lists' sizes at a time, and counting from `data` read every manifest whole (up to ~17k people) on every request.
    listed_count = models.GeneratedField(
        expression=Func(F("data__listed"), function="jsonb_array_length", output_field=models.IntegerField()),
        output_field=models.IntegerField(),
        db_persist=True,
    )

    objects = RestrictedManager()

    def __str__(self):
        return f"manifest of {self.watchlist_id}"
