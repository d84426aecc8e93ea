"""Sarah's Law cases: the people, the checks, the forum's decisions, the disclosure and its undertaking, letters.

Everything here is personal data read only through the consultation log. Deadlines are stored when the case is
opened (and the case deadline moved by an approved extension) so lists can sort and flag them in the database.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from apps.matching.models import Alert
from apps.watchlists.models import Subject
from govern import validators
from govern.restricted import RestrictedManager, RestrictedQuerySet

from .choices import (
    CarerKnows,
    CheckKind,
    ContactMethod,
    Decision,
    ExtensionState,
    Forum,
    LetterKind,
    RiskLevel,
    Route,
    Stage,
    UndertakingOutcome,
)

USER = settings.AUTH_USER_MODEL


@dataclass(frozen=True)
class Deadline:
    """One of a case's clocks: when it falls due, when it was met, and whether it is overdue now."""

    name: str
    label: str
    due: datetime.datetime
    done_at: datetime.datetime | None
    overdue: bool


class CaseQuerySet(RestrictedQuerySet):
    """Cases with their next deadline and whether they are overdue, computed in the database."""

    def with_clocks(self, now=None):
        """Annotate `next_due` (the earliest deadline not yet met) and `is_overdue`."""
        now = now or timezone.now()
        next_due = models.Case(
            models.When(stage=Stage.COMPLETED, then=models.Value(None, output_field=models.DateTimeField())),
            models.When(checks_completed_at__isnull=True, then=models.F("checks_due_at")),
            models.When(Q(met_at__isnull=True, route=Route.RIGHT_TO_ASK), then=models.F("meeting_due_at")),
            default=models.F("case_due_at"),
            output_field=models.DateTimeField(),
        )
        return self.annotate(next_due=next_due).annotate(
            is_overdue=models.Case(
                models.When(next_due__lt=now, then=models.Value(True)),
                default=models.Value(False),
                output_field=models.BooleanField(),
            )
        )

    def overdue(self, now=None):
        """Open cases past one of their deadlines."""
        return self.with_clocks(now).filter(is_overdue=True)


class CaseManager(models.Manager.from_queryset(CaseQuerySet)):
    """Restricted by the policy, with clocks."""


class DisclosureCase(models.Model):
    """One Child Sex Offender Disclosure Scheme case, from first contact to disclosure or a non-disclosure letter."""

    reference = models.CharField(max_length=32, unique=True, help_text="The force's case reference.")
    route = models.CharField(max_length=20, choices=Route.choices)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.CONTACT)
    officer_in_charge = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    opened_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    contact_method = models.CharField(max_length=20, choices=ContactMethod.choices)
    contact_at = models.DateTimeField(help_text="When the first contact was made: every clock runs from here.")
    # The applicant (right to ask) and a way to reach them that is safe.
    applicant_name = models.CharField(max_length=200, blank=True)
    applicant_relationship = models.CharField(max_length=200, blank=True, help_text="To the child.")
    applicant_safe_contact = models.TextField(blank=True, help_text="How and when it is safe to contact them.")
    # The person the case is about.
    subject_name = models.CharField(max_length=200)
    subject_date_of_birth = models.DateField(validators=[validators.date_of_birth], null=True, blank=True)
    subject_relationship = models.CharField(max_length=200, blank=True, help_text="Their relationship to the child.")
    household = models.TextField(blank=True, help_text="Who lives in the household, as far as is known.")
    watchlist_subject = models.ForeignKey(
        Subject, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="The custody record."
    )
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    alert_reference = models.CharField(max_length=100, blank=True, help_text="The alert that led to the case.")
    # Initial triage.
    immediate_risk = models.BooleanField(default=False)
    safeguarding_action = models.TextField(blank=True, help_text="What was done for a child at immediate risk.")
    # The stages.
    checks_completed_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    met_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    identity_verified_with = models.CharField(max_length=200, blank=True, help_text="The document seen.")
    meeting_notes = models.TextField(blank=True)
    assessed_at = models.DateTimeField(null=True, blank=True)
    assessed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    risk_level = models.CharField(max_length=16, choices=RiskLevel.choices, blank=True)
    risk_assessment = models.TextField(blank=True)
    has_child_sexual_offence_convictions = models.BooleanField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The clocks, from contact_at (see choices); case_due_at moves with approved extensions.
    checks_due_at = models.DateTimeField()
    meeting_due_at = models.DateTimeField()
    case_due_at = models.DateTimeField()
    extension_days = models.PositiveIntegerField(default=0)

    objects = CaseManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["case_due_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(stage=Stage.COMPLETED) | Q(completed_at__isnull=False), name="disclosure_case_completed_at"
            ),
            models.CheckConstraint(
                condition=Q(immediate_risk=False) | ~Q(safeguarding_action=""),
                name="disclosure_case_immediate_risk_safeguarded",
            ),
        ]

    def __str__(self):
        return self.reference

    def clean(self):
        """The subject's date of birth, if known: old enough on the day of the first contact to have a record."""
        if isinstance(self.subject_date_of_birth, datetime.date) and isinstance(self.contact_at, datetime.datetime):
            try:
                validators.old_enough_to_be_arrested(
                    self.subject_date_of_birth, timezone.localtime(self.contact_at).date()
                )
            except ValidationError as exc:
                raise ValidationError({"subject_date_of_birth": exc.messages}) from exc

    @property
    def is_completed(self) -> bool:
        """Whether the case is closed and locked."""
        return self.stage == Stage.COMPLETED

    @property
    def stage_label(self) -> str:
        """The stage in words; on the right-to-be-told route no meeting follows the checks."""
        if self.stage == Stage.CHECKED and not self.needs_meeting:
            return "Checks done: risk assessment due"
        return self.get_stage_display()

    @property
    def needs_meeting(self) -> bool:
        """The face-to-face meeting with the applicant is part of the right-to-ask route."""
        return self.route == Route.RIGHT_TO_ASK

    def deadlines(self, now=None) -> list[Deadline]:
        """Each clock of the case: due, met, overdue."""
        now = now or timezone.now()
        clocks = [("checks", "Checks (24 hours)", self.checks_due_at, self.checks_completed_at)]
        if self.needs_meeting:
            clocks.append(("meeting", "Face-to-face meeting (10 days)", self.meeting_due_at, self.met_at))
        case_label = (
            "Whole case (45 days" + (f" + {self.extension_days} extension" if self.extension_days else "") + ")"
        )
        clocks.append(("case", case_label, self.case_due_at, self.completed_at))
        return [
            Deadline(name, label, due, done, overdue=done is None and not self.is_completed and due < now)
            for name, label, due, done in clocks
        ]

    def next_deadline(self, now=None) -> Deadline | None:
        """The earliest clock not yet met."""
        pending = [deadline for deadline in self.deadlines(now) if deadline.done_at is None]
        return None if self.is_completed or not pending else pending[0]

    def overdue(self, now=None) -> bool:
        """Whether any clock has run out."""
        return any(deadline.overdue for deadline in self.deadlines(now))


class Child(models.Model):
    """A child the case is about: minimal details, and whether their parent or carer knows."""

    case = models.ForeignKey(DisclosureCase, on_delete=models.PROTECT, related_name="children")
    name = models.CharField(max_length=200, help_text="First name or initials are enough.")
    date_of_birth = models.DateField(validators=[validators.date_of_birth], null=True, blank=True)
    carer_name = models.CharField(max_length=200, blank=True, help_text="Parent or carer.")
    carer_knows = models.CharField(max_length=8, choices=CarerKnows.choices, default=CarerKnows.UNKNOWN)
    added_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["case", "id"]

    def __str__(self):
        return f"child {self.pk} of {self.case_id}"

    def clean(self):
        """A child on the day of the first contact: born by then and under 18 (a child born in 2031 was accepted)."""
        try:
            contact_at = self.case.contact_at
        except DisclosureCase.DoesNotExist:
            contact_at = None
        if isinstance(self.date_of_birth, datetime.date) and isinstance(contact_at, datetime.datetime):
            try:
                validators.a_child_on(self.date_of_birth, timezone.localtime(contact_at).date())
            except ValidationError as exc:
                raise ValidationError({"date_of_birth": exc.messages}) from exc


class Check(models.Model):
    """One check made: where, by whom, when, and what it found."""

    case = models.ForeignKey(DisclosureCase, on_delete=models.PROTECT, related_name="checks")
    kind = models.CharField(max_length=24, choices=CheckKind.choices)
    agency = models.CharField(max_length=200, blank=True, help_text="For a partner agency: which one, and who.")
    made_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField()
    result = models.TextField()

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["case", "made_at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} check on {self.case_id}"


class ForumDecision(models.Model):
    """A decision forum's decision: who sat, what it decided and why."""

    case = models.ForeignKey(DisclosureCase, on_delete=models.PROTECT, related_name="decisions")
    forum = models.CharField(max_length=16, choices=Forum.choices)
    held_at = models.DateTimeField()
    attendees = models.TextField(help_text="Who attended, one per line, with their agency.")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    rationale = models.TextField()
    necessary_and_proportionate = models.BooleanField(
        default=False, help_text="A disclosure must be necessary and proportionate to protect the child."
    )
    presumption_to_disclose = models.BooleanField(
        default=False,
        help_text="The subject has convictions for child sexual offences and poses a risk: disclosure is presumed.",
    )
    after_refusal = models.BooleanField(default=False, help_text="Decided again after the undertaking was refused.")
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["case", "recorded_at", "id"]

    def __str__(self):
        return f"{self.get_decision_display()} on {self.case_id}"


class Disclosure(models.Model):
    """The disclosure: to whom (best placed to protect the child), the warning, the undertaking, what was said."""

    case = models.OneToOneField(DisclosureCase, on_delete=models.PROTECT, related_name="disclosure")
    recipient_name = models.CharField(max_length=200)
    recipient_relationship = models.CharField(max_length=200, help_text="To the child.")
    recipient_is_applicant = models.BooleanField(default=True)
    recipient_reason = models.TextField(blank=True, help_text="Why this person, when it is not the applicant.")
    warning_given = models.BooleanField(default=False, help_text="The legal warning on confidentiality was given.")
    undertaking = models.CharField(max_length=8, choices=UndertakingOutcome.choices)
    undertaking_at = models.DateTimeField()
    undertaking_note = models.TextField(blank=True)
    undertaking_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    disclosed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    disclosed_at = models.DateTimeField(null=True, blank=True)
    in_person = models.BooleanField(default=False)
    content = models.TextField(blank=True, help_text="What was said.")

    objects = RestrictedManager()
    history = HistoricalRecords()

    def __str__(self):
        return f"disclosure on {self.case_id}"


class Extension(models.Model):
    """A request to extend the 45-day clock, with its reason and a supervisor's decision."""

    case = models.ForeignKey(DisclosureCase, on_delete=models.PROTECT, related_name="extensions")
    days = models.PositiveIntegerField()
    reason = models.TextField()
    state = models.CharField(max_length=12, choices=ExtensionState.choices, default=ExtensionState.REQUESTED)
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["case", "requested_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="extension_decider_is_not_requester",
            ),
            models.UniqueConstraint(
                fields=["case"], condition=Q(state="requested"), name="extension_one_open_request_per_case"
            ),
        ]

    def __str__(self):
        return f"extension of {self.days} days on {self.case_id} ({self.state})"


class Letter(models.Model):
    """A letter as issued: rendered from its template, stored and never changed."""

    case = models.ForeignKey(DisclosureCase, on_delete=models.PROTECT, related_name="letters")
    kind = models.CharField(max_length=20, choices=LetterKind.choices)
    addressee = models.CharField(max_length=200)
    body = models.TextField(help_text="The letter's HTML as issued.")
    issued_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField()

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["case", "issued_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="letter_once_per_kind")]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.case_id}"
