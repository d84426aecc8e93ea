"""Engines approved for live use, camera credentials, templates (never history-tracked), captures, alerts, receipts."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, Func, OuterRef, Q
from pgvector.django import HalfVectorField

from apps.deployments.models import Asset, Deployment
from apps.watchlists.models import CustodyImage, Entry, Subject, Watchlist
from govern.restricted import RestrictedManager, RestrictedQuerySet

from .choices import AgeBand, AlertState, EthnicGroup, IdentityCheck, Outcome, PerceivedSex, ProbeState, SearchState

USER = settings.AUTH_USER_MODEL


class EngineApproval(models.Model):
    """An authorising officer's approval of one engine (model name and weights hash) for live deployments."""

    name = models.CharField(max_length=100)
    weights_sha256 = models.CharField(max_length=64)
    calibrated = models.BooleanField()
    approved_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField()

    objects = RestrictedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "weights_sha256"], name="engine_approved_once")]

    def __str__(self):
        return f"{self.name} {self.weights_sha256[:12]}"


class EngineEvaluation(models.Model):
    """One engine's figures on one labelled face set (apps/matching/evaluation.py): what a threshold or engine
    proposal cites, tied to the engine's weights hash and the set's hash."""

    engine_name = models.CharField(max_length=100)
    engine_weights_sha256 = models.CharField(max_length=64, db_index=True)
    set_name = models.CharField(max_length=200, help_text="The folder's name, as given.")
    set_sha256 = models.CharField(max_length=64, help_text="SHA-256 over the images' names and bytes, in order.")
    labels_sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the demographic labels' CSV.")
    thresholds = models.JSONField(help_text="The thresholds evaluated, as strings of three decimals.")
    figures = models.JSONField(help_text="TPIR, FPIR, FMR and the forecast per threshold, with their intervals.")
    problems = models.JSONField(default=list, help_text="Images left out and why (unreadable, no face).")
    run_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    run_at = models.DateTimeField()

    objects = RestrictedManager()

    class Meta:
        ordering = ["-run_at", "-id"]

    def __str__(self):
        return f"{self.engine_name} {self.engine_weights_sha256[:12]} on {self.set_name} ({self.run_at:%Y-%m-%d})"

    @property
    def label(self) -> str:
        """The report in words, for a choice or a citation."""
        figures = self.figures
        return (
            f"Evaluation {self.pk}: {self.engine_name} on {self.set_name} (set {self.set_sha256[:12]}…, "
            f"{figures['images']} images of {figures['identities']} people), {self.run_at:%Y-%m-%d %H:%M}"
        )


class CameraCredential(models.Model):
    """The API credential of one van or camera; only a hash of the secret is kept."""

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="credentials")
    key_id = models.CharField(max_length=16, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    issued_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a frame last came with it; at most a minute or two behind (written once a minute at most).",
    )

    objects = RestrictedManager()

    def __str__(self):
        return f"credential {self.key_id} of {self.asset}"


# Each engine's vectors at their own size (facenet 512, dlib 128) in one unconstrained halfvec column, the size kept
# beside it by PostgreSQL itself, and an index per size over the column cast to it (pgvector's way to index several
# sizes in one column). A face is compared only with templates of its own engine (name and weights hash).
ENGINE_DIMENSIONS = (512, 128)


def _dimensions() -> models.GeneratedField:
    return models.GeneratedField(
        expression=Func(F("embedding"), function="vector_dims"),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )


class WatchlistTemplate(models.Model):
    """A watchlist entry's face vector, for exactly one approved version; deleted (with receipts) at purge."""

    watchlist = models.ForeignKey(Watchlist, on_delete=models.PROTECT, related_name="+")
    approved_hash = models.CharField(max_length=64)
    entry = models.ForeignKey(Entry, null=True, on_delete=models.SET_NULL, related_name="+")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    embedding = HalfVectorField()
    dimensions = _dimensions()
    engine = models.CharField(max_length=100)
    weights_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["watchlist", "approved_hash"])]

    def __str__(self):
        return f"template of subject {self.subject_id} for {self.watchlist_id}"


class TemplateGeneration(models.Model):
    """How many times a watchlist's templates have been deleted: every worker holding them in memory compares it with
    the generation it read them at, on each frame's admission, and drops them when it moved (enrolment.templates)."""

    watchlist = models.OneToOneField(Watchlist, on_delete=models.PROTECT, primary_key=True, related_name="+")
    generation = models.BigIntegerField(default=0)

    def __str__(self):
        return f"templates of {self.watchlist_id}, generation {self.generation}"


class Capture(models.Model):
    """One frame from a camera: how many faces it held and what became of each (never the frame itself)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="captures")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()
    faces = models.PositiveIntegerField()
    alerts = models.PositiveIntegerField(help_text="Alerted tracks: alerts raised and sightings attached to one.")
    receipts = models.PositiveIntegerField(help_text="Receipted tracks.")
    # Null for a frame, whose every face is a track of one frame; a capture agent's batch counts its tracks, each
    # holding one face or more (docs/architecture.md, capture agents).
    tracks = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(tracks__isnull=True, faces=models.F("alerts") + models.F("receipts"))
                # tracks IS NOT NULL too: a NULL comparison would pass the check unseen.
                | Q(
                    tracks__isnull=False,
                    tracks=models.F("alerts") + models.F("receipts"),
                    faces__gte=models.F("tracks"),
                ),
                name="capture_tracks_reconcile",
            )
        ]

    def __str__(self):
        return f"capture {self.id}"


# A track holds one face or more, in at most as many frames as it spanned; it was seen before it was received.
TRACK_COUNTS = Q(faces__gte=1, frames__gte=F("faces"))
# Both times or neither: with one of them null the comparisons would be null, which a check constraint lets through.
TRACK_TIMES = Q(first_seen__isnull=True, last_seen__isnull=True) | Q(
    first_seen__isnull=False,
    last_seen__isnull=False,
    first_seen__lte=F("last_seen"),
    last_seen__lte=F("created_at"),
)


# What an alert turned out to be, as the figures, equality monitoring, retention and disclosures all count it: false
# when judged false, or found false only after the person was stopped; true when judged a match and not found false.
FALSE_ALERTS = Q(state=AlertState.FALSE) | Q(outcome=Outcome.FALSE_AFTER_ENGAGEMENT)
TRUE_ALERTS = Q(state__in=[AlertState.CONFIRMED, AlertState.ENGAGED, AlertState.CLOSED]) & ~Q(
    outcome=Outcome.FALSE_AFTER_ENGAGEMENT
)


class Alert(models.Model):
    """A face at or above the threshold against a watchlist entry; it waits for an officer's judgement."""

    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="alerts")
    capture = models.ForeignKey(Capture, on_delete=models.PROTECT, related_name="alert_set")
    watchlist_hash = models.CharField(max_length=64)
    entry = models.ForeignKey(Entry, null=True, on_delete=models.SET_NULL, related_name="+")
    # Null once the subject is erased: the alert stays (the figures count it), no longer naming them (custody_erasure).
    subject = models.ForeignKey(Subject, null=True, on_delete=models.PROTECT, related_name="+")
    score = models.FloatField()
    threshold = models.DecimalField(max_digits=4, decimal_places=3)
    candidates = models.JSONField(help_text="The top-k subjects and scores, best first.")
    engine = models.CharField(max_length=100)
    weights_sha256 = models.CharField(max_length=64)
    probe_ciphertext = models.BinaryField(editable=False)
    probe_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.PENDING)
    adjudicated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    adjudicated_at = models.DateTimeField(null=True, blank=True)
    adjudication_reason = models.TextField(blank=True)
    engaged_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    engaged_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(blank=True)
    # The person the alert concerned, as the officer perceived them (at judgement or at the stop): equality monitoring
    # groups by these, not by the listed subject.
    perceived_sex = models.CharField(max_length=16, choices=PerceivedSex.choices, default=PerceivedSex.NOT_RECORDED)
    perceived_age = models.CharField(max_length=16, choices=AgeBand.choices, default=AgeBand.NOT_RECORDED)
    perceived_ethnicity = models.CharField(max_length=16, choices=EthnicGroup.choices, default=EthnicGroup.NOT_RECORDED)
    # The stop record, with the outcome: how identity was checked, how long the stop lasted, any complaint.
    identity_check = models.CharField(max_length=16, choices=IdentityCheck.choices, blank=True)
    stop_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    complaint_reference = models.CharField(max_length=100, blank=True)
    hold_reason = models.TextField(blank=True, help_text="An evidential hold stops retention deleting the alert.")
    hold_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    probe_deleted_at = models.DateTimeField(null=True, blank=True)
    # The track the alert stands for: a frame's face is a track of one face in one frame, seen when it was received;
    # a capture agent's track spans frames and was seen (first_seen, last_seen) before it was received (created_at).
    faces = models.PositiveIntegerField(default=1, db_default=1)
    frames = models.PositiveIntegerField(default=1, db_default=1)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # No engagement or outcome before a human has judged the alert a true match.
            models.CheckConstraint(
                condition=Q(engaged_at__isnull=True) | Q(adjudicated_at__isnull=False, state__in=["engaged", "closed"]),
                name="alert_engaged_only_after_adjudication",
            ),
            models.CheckConstraint(condition=TRACK_COUNTS, name="alert_track_counts"),
            models.CheckConstraint(condition=TRACK_TIMES, name="alert_track_seen_before_received"),
        ]

    def __str__(self):
        return f"alert {self.pk} at {self.deployment_id} ({self.state})"

    @property
    def found_false(self) -> bool:
        """Judged a false alert, or found not to be the subject once the person was stopped."""
        return self.state == AlertState.FALSE or self.outcome == Outcome.FALSE_AFTER_ENGAGEMENT

    def associated_data(self) -> bytes:
        """What the probe's ciphertext is bound to."""
        return f"alert-probe:{self.capture_id}:{self.probe_sha256}".encode()

    @property
    def captured_at(self):
        """When the person was last seen (a frame's alert: when its frame came)."""
        return self.last_seen or self.created_at

    @property
    def late_by(self):
        """How long after the person was last seen the alert reached Govern, when more than AGENT_LATE_SECONDS (a
        link that dropped); None when it came in time."""
        if self.last_seen is None:
            return None
        delay = self.created_at - self.last_seen
        return delay if delay.total_seconds() > settings.AGENT_LATE_SECONDS else None


class AlertSighting(models.Model):
    """A later alerted track of an alert's subject at its deployment, within the alert window while the alert was
    pending: attached to it, not raised again (its crop is dropped once re-scored; the alert keeps the first)."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="sightings")
    capture = models.ForeignKey(Capture, on_delete=models.PROTECT, related_name="sighting_set")
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="+")
    track = models.UUIDField()
    score = models.FloatField()
    faces = models.PositiveIntegerField()
    frames = models.PositiveIntegerField()
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    received_at = models.DateTimeField()
    commitment = models.CharField(max_length=64)

    class Meta:
        ordering = ["first_seen", "pk"]
        constraints = [
            models.CheckConstraint(condition=TRACK_COUNTS, name="sighting_track_counts"),
            models.CheckConstraint(
                condition=Q(first_seen__lte=F("last_seen"), last_seen__lte=F("received_at")),
                name="sighting_seen_before_received",
            ),
        ]

    def __str__(self):
        return f"sighting of alert {self.alert_id} at {self.first_seen}"


class AgentBatch(models.Model):
    """A capture agent's batch of tracks, once: its id is the agent's idempotency key, so a batch sent again is
    answered from here and records nothing more; the same id with another body is refused."""

    id = models.UUIDField(primary_key=True, editable=False)
    capture = models.OneToOneField(Capture, on_delete=models.PROTECT, related_name="batch")
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="+")
    body_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the batch's canonical JSON.")
    answer = models.JSONField(help_text="The first answer, given again to a resend.")
    received_at = models.DateTimeField()

    def __str__(self):
        return f"batch {self.id}"


class AgentTrack(models.Model):
    """A capture agent's track, once: the same person passing is recorded by one batch only, whichever batch id
    carries it again."""

    id = models.UUIDField(primary_key=True, editable=False)
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="+")
    capture = models.ForeignKey(Capture, on_delete=models.PROTECT, related_name="agent_tracks")

    def __str__(self):
        return f"track {self.id}"


class DeletionReceipt(models.Model):
    """Proof that a non-matching face was seen, compared and destroyed: nothing to rebuild it from."""

    capture = models.ForeignKey(Capture, on_delete=models.PROTECT, related_name="receipt_set")
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="receipts")
    watchlist_hash = models.CharField(max_length=64)
    best_score = models.FloatField()
    commitment = models.CharField(max_length=64, help_text="HMAC of the destroyed template; the key is not here.")
    engine = models.CharField(max_length=100)
    weights_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    event_seq = models.BigIntegerField(help_text="The receipt's event in the audit log.")
    # A frame's face is a track of one face in one frame; a capture agent's receipt stands for a whole track, its
    # commitment covering every crop of it in order.
    faces = models.PositiveIntegerField(default=1, db_default=1)
    frames = models.PositiveIntegerField(default=1, db_default=1)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=TRACK_COUNTS, name="receipt_track_counts"),
            models.CheckConstraint(condition=TRACK_TIMES, name="receipt_track_seen_before_received"),
        ]

    def __str__(self):
        return f"receipt {self.pk} of {self.capture_id}"


class CustodyTemplate(models.Model):
    """A custody image's face vector for retrospective search (HNSW, cosine); never history-tracked."""

    image = models.OneToOneField(CustodyImage, on_delete=models.CASCADE, related_name="template")
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+")
    embedding = HalfVectorField()
    # The SHA-256 of the vector's binary form, computed by PostgreSQL for every row however written: a deletion's
    # absence check finds a copy of a deleted vector under another id through this column's index, not by reading
    # the whole gallery (services/deletion_evidence.py; docs/benchmarks.md, deletion evidence).
    embedding_sha256 = models.GeneratedField(
        expression=Func(Func(F("embedding"), function="halfvec_send"), function="sha256"),
        output_field=models.BinaryField(),
        db_persist=True,
        db_index=True,
    )
    dimensions = _dimensions()
    engine = models.CharField(max_length=100)
    weights_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    # Its HNSW indexes, one per size in ENGINE_DIMENSIONS over `embedding::halfvec(size)` WHERE dimensions = size, are
    # made in SQL by migration 0009: Django's index expressions put the cast and its operator class in one pair of
    # parentheses, which PostgreSQL refuses.

    def __str__(self):
        return f"custody template of image {self.image_id}"


class CustodyProjection(models.Model):
    """The principal directions of the custody gallery's templates, from a random sample: the custody search's graph
    works on templates projected onto the first `dimensions` of them and re-ranks its candidates exactly on the full
    vectors (docs/benchmarks.md, custody runs). At most one exists; fitting anew replaces it and its projections."""

    dimensions = models.PositiveSmallIntegerField()
    components = models.BinaryField()  # float32, dimensions x the engine's vector size, row-major
    components_sha256 = models.CharField(max_length=64)
    sample_size = models.PositiveIntegerField()
    energy_kept = models.FloatField(help_text="The share of the sample's energy the kept directions hold.")
    engine = models.CharField(max_length=100)
    weights_sha256 = models.CharField(max_length=64)
    fitted_at = models.DateTimeField()

    def __str__(self):
        return f"custody projection to {self.dimensions} dimensions ({self.components_sha256[:12]})"


class CustodyReduced(models.Model):
    """A custody template projected onto the gallery's principal directions: the record from which the search's graph
    is built and kept up to date (custody_graph). Derived from the template and deleted with it; never history-tracked.
    No index of its own: the graph lives in the searching process's memory."""

    template = models.OneToOneField(CustodyTemplate, on_delete=models.CASCADE, primary_key=True, related_name="+")
    projection = models.ForeignKey(CustodyProjection, on_delete=models.CASCADE, related_name="+")
    vector = HalfVectorField(dimensions=128)

    def __str__(self):
        return f"reduced custody template {self.template_id}"


class SearchRequestQuerySet(RestrictedQuerySet):
    """Searches, restricted as every model's rows are; a list reads whether each has a still left to review."""

    def with_stills_refused(self):
        """Each search with `searchable_stills` (whether any still was not refused), read in the list's own query, so
        `all_refused` asks nothing more a row."""
        return self.annotate(
            searchable_stills=Exists(Probe.objects.filter(request=OuterRef("pk")).exclude(state=ProbeState.REFUSED))
        )


class SearchRequest(models.Model):
    """A retrospective search: stills from an incident, searched against custody images, never enrolled."""

    reference = models.CharField(max_length=32, unique=True)
    submitted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    incident_reference = models.CharField(max_length=100)
    crime_type = models.CharField(max_length=100)
    sharing_agreement = models.CharField(max_length=100, blank=True, help_text="Required from retail partners.")
    state = models.CharField(max_length=16, choices=SearchState.choices, default=SearchState.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = models.Manager.from_queryset(SearchRequestQuerySet)()

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self):
        return self.reference

    @property
    def all_refused(self) -> bool:
        """Whether every still was searched and refused (no face, or several): there are no candidates to review."""
        if self.state != SearchState.READY or self.total == 0:
            return False
        searchable = getattr(self, "searchable_stills", None)  # read by the list (with_stills_refused)
        if searchable is None:
            searchable = self.probes.exclude(state=ProbeState.REFUSED).exists()
        return not searchable

    @property
    def status_label(self) -> str:
        """The state in words, saying so when no still could be searched (not "Candidates ready for review")."""
        if self.all_refused:
            return "Every still was refused: no candidates to review"
        return self.get_state_display()

    def status_for(self, reviewer: bool) -> str:
        """The state in words for who reads it: one who may not review (a retail partner) is told the police are
        reviewing the results, not that candidates await review."""
        if not reviewer and self.state == SearchState.READY and not self.all_refused:
            return "Searched: the police are reviewing the results"
        return self.status_label


class Probe(models.Model):
    """One still of a search; its bytes (encrypted) are deleted, with a receipt, when the case closes."""

    request = models.ForeignKey(SearchRequest, on_delete=models.CASCADE, related_name="probes")
    position = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    ciphertext = models.BinaryField(null=True, editable=False)
    state = models.CharField(max_length=16, choices=ProbeState.choices, default=ProbeState.PENDING)
    refusal = models.TextField(blank=True)
    candidates = models.JSONField(default=list, help_text="Subjects, images and scores, best first.")
    engine = models.CharField(max_length=100, blank=True)
    weights_sha256 = models.CharField(max_length=64, blank=True)
    chosen_subject = models.ForeignKey(Subject, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    operator = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    operator_note = models.TextField(blank=True)
    confirmed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    corroboration = models.TextField(blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["request", "position"]
        constraints = [
            # The investigating officer who confirms is not the operator who chose.
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True) | ~Q(confirmed_by=models.F("operator")),
                name="probe_confirmer_is_not_operator",
            ),
        ]

    def __str__(self):
        return f"probe {self.position} of {self.request_id}"

    @property
    def found_false(self) -> bool:
        """Judged a false alert, or found not to be the subject once the person was stopped."""
        return self.state == AlertState.FALSE or self.outcome == Outcome.FALSE_AFTER_ENGAGEMENT

    def associated_data(self) -> bytes:
        """What the probe's ciphertext is bound to."""
        return f"search-probe:{self.request_id}:{self.sha256}".encode()
