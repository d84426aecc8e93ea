"""Data-subject requests (DPA 2018 Part 3, ss.45-48): who asked for what, when it falls due, how identity was checked,
the privacy officer's decision and the response.

The due date is stored (the receipt plus one month, moved by an extension) so the desk sorts and flags requests in
the database.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from apps.watchlists.models import Subject
from govern import validators
from govern.restricted import RestrictedQuerySet

from .choices import Channel, Decision, IdentityMethod, RefusalGround, RequestKind, RequestState

USER = settings.AUTH_USER_MODEL


class RequestQuerySet(RestrictedQuerySet):
    """Requests with whether their clock has run out, computed in the database."""

    def open(self):
        """Requests not yet answered."""
        return self.exclude(state=RequestState.CLOSED)

    def with_clocks(self, now=None):
        """Annotate `is_overdue`: open and past its due date."""
        now = now or timezone.now()
        return self.annotate(
            is_overdue=models.Case(
                models.When(Q(due_at__lt=now) & ~Q(state=RequestState.CLOSED), then=models.Value(True)),
                default=models.Value(False),
                output_field=models.BooleanField(),
            )
        )


class RequestManager(models.Manager.from_queryset(RequestQuerySet)):
    """Restricted by the policy, with clocks."""


class RightsRequest(models.Model):
    """One request by a person to exercise a right of Part 3: access, rectification, erasure or restriction."""

    reference = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=16, choices=RequestKind.choices)
    state = models.CharField(max_length=12, choices=RequestState.choices, default=RequestState.RECEIVED)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    received_at = models.DateTimeField(help_text="When the request reached the force: the month runs from here.")
    logged_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    logged_at = models.DateTimeField()
    # The requester, as they describe themselves: what the desk finds their record by.
    requester_name = models.CharField(max_length=250)
    requester_date_of_birth = models.DateField(validators=[validators.date_of_birth], null=True, blank=True)
    requester_pnc_id = models.CharField("PNC ID", max_length=20, blank=True)
    requester_contact = models.TextField(help_text="Where the response goes: postal or email address.")
    details = models.TextField(
        blank=True, help_text="What the person asks for, in their words (what to correct, erase, restrict)."
    )
    # The person's record, once found.
    # Erasing the record (a granted erasure, say) unlinks it: the request stays as the record of what was asked.
    subject = models.ForeignKey(Subject, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    linked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField(null=True, blank=True)
    # Identity, checked before any decision.
    identity_method = models.CharField(max_length=32, choices=IdentityMethod.choices, blank=True)
    identity_note = models.TextField(blank=True, help_text="What was seen: the document and its number's last digits.")
    identity_checked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    identity_checked_at = models.DateTimeField(null=True, blank=True)
    # The clock.
    due_at = models.DateTimeField()
    extension_months = models.PositiveSmallIntegerField(default=0)
    extension_reason = models.TextField(blank=True)
    extended_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    extended_at = models.DateTimeField(null=True, blank=True)
    # The privacy officer's decision (never the person who logged the request).
    decision = models.CharField(max_length=8, choices=Decision.choices, blank=True)
    refusal_ground = models.CharField(max_length=24, choices=RefusalGround.choices, blank=True)
    decision_note = models.TextField(blank=True)
    # An erasure request: whether the person was convicted of the matter their images were taken for. An unconvicted
    # person's images are presumed to be deleted (RMC v Commissioner [2012] EWHC 1681; the custody images review);
    # refusing them records why the presumption does not hold.
    convicted = models.BooleanField(null=True, blank=True, help_text="Recorded on deciding an erasure request.")
    presumption_reasons = models.TextField(
        blank=True, help_text="Why an unconvicted person's images are kept despite the presumption of deletion."
    )
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    # The response sent.
    response = models.TextField(blank=True, help_text="What the person was told, and how.")
    responded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    responded_at = models.DateTimeField(null=True, blank=True)

    objects = RequestManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("logged_by")),
                name="rights_request_decider_is_not_logger",
            ),
            models.CheckConstraint(
                condition=~Q(decision=Decision.REFUSE) | ~Q(refusal_ground=""), name="rights_request_refusal_ground"
            ),
            models.CheckConstraint(
                condition=Q(decision="") | Q(identity_checked_at__isnull=False),
                name="rights_request_identity_before_decision",
            ),
            models.CheckConstraint(
                condition=~Q(kind=RequestKind.ERASURE) | Q(decision="") | Q(convicted__isnull=False),
                name="rights_request_erasure_records_conviction",
            ),
            models.CheckConstraint(
                condition=~Q(kind=RequestKind.ERASURE, decision=Decision.REFUSE, convicted=False)
                | ~Q(presumption_reasons=""),
                name="rights_request_unconvicted_refusal_reasons",
            ),
            models.CheckConstraint(
                condition=~Q(state=RequestState.CLOSED) | Q(responded_at__isnull=False),
                name="rights_request_closed_responded",
            ),
        ]

    def __str__(self):
        return self.reference

    @property
    def is_closed(self) -> bool:
        """Whether the response was sent and the request is locked."""
        return self.state == RequestState.CLOSED

    def overdue(self, now=None) -> bool:
        """Whether the clock ran out before the response."""
        return not self.is_closed and self.due_at < (now or timezone.now())
