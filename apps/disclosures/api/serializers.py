"""Serializers of the disclosures API: a summary without names for lists and answers; the whole case, logged."""

from rest_framework import serializers

from ..choices import CarerKnows, CheckKind, Decision, Forum, RiskLevel
from ..models import Check, Child, Disclosure, DisclosureCase, Extension, ForumDecision, Letter
from ..services import CASE_FIELDS


class DeadlineSerializer(serializers.Serializer):
    """One clock."""

    name = serializers.CharField()
    label = serializers.CharField()
    due = serializers.DateTimeField()
    done_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()


class CaseSummarySerializer(serializers.ModelSerializer):
    """A case without personal data: what the list shows, and what a change answers."""

    deadlines = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    next_due = serializers.SerializerMethodField()

    class Meta:
        model = DisclosureCase
        fields = [
            "id",
            "reference",
            "route",
            "stage",
            "officer_in_charge",
            "contact_method",
            "contact_at",
            "alert",
            "checks_due_at",
            "meeting_due_at",
            "case_due_at",
            "extension_days",
            "completed_at",
            "next_due",
            "overdue",
            "deadlines",
        ]
        read_only_fields = fields

    def get_deadlines(self, case) -> list[dict]:
        return DeadlineSerializer(case.deadlines(), many=True).data

    def get_overdue(self, case) -> bool:
        return case.overdue()

    def get_next_due(self, case) -> str | None:
        deadline = case.next_deadline()
        return serializers.DateTimeField().to_representation(deadline.due) if deadline else None


class ChildSerializer(serializers.ModelSerializer):
    """A child of the case."""

    class Meta:
        model = Child
        fields = ["id", "name", "date_of_birth", "carer_name", "carer_knows"]
        read_only_fields = ["id"]


class CheckSerializer(serializers.ModelSerializer):
    """A check made."""

    class Meta:
        model = Check
        fields = ["id", "kind", "agency", "made_by", "made_at", "result"]
        read_only_fields = ["id", "made_by"]
        extra_kwargs = {"made_at": {"required": False}}


class ForumDecisionSerializer(serializers.ModelSerializer):
    """A forum's decision."""

    class Meta:
        model = ForumDecision
        fields = [
            "id",
            "forum",
            "held_at",
            "attendees",
            "decision",
            "rationale",
            "necessary_and_proportionate",
            "presumption_to_disclose",
            "after_refusal",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class DisclosureSerializer(serializers.ModelSerializer):
    """The disclosure with its undertaking."""

    class Meta:
        model = Disclosure
        exclude = ["case"]
        read_only_fields = [field.name for field in Disclosure._meta.fields]


class ExtensionSerializer(serializers.ModelSerializer):
    """An extension request and its decision."""

    class Meta:
        model = Extension
        fields = [
            "id",
            "case",
            "days",
            "reason",
            "state",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class LetterSerializer(serializers.ModelSerializer):
    """A letter as issued."""

    class Meta:
        model = Letter
        fields = ["id", "kind", "addressee", "body", "issued_by", "issued_at"]
        read_only_fields = fields


class CaseSerializer(CaseSummarySerializer):
    """The whole case, personal data included: read only with a stated reason, and logged."""

    children = ChildSerializer(many=True, read_only=True)
    checks = CheckSerializer(many=True, read_only=True)
    decisions = ForumDecisionSerializer(many=True, read_only=True)
    disclosure = DisclosureSerializer(read_only=True, allow_null=True)
    extensions = ExtensionSerializer(many=True, read_only=True)
    letters = LetterSerializer(many=True, read_only=True)

    class Meta(CaseSummarySerializer.Meta):
        fields = [
            *CaseSummarySerializer.Meta.fields,
            "opened_by",
            "opened_at",
            *[field for field in CASE_FIELDS if field not in ("route", "contact_method", "contact_at")],
            "watchlist_subject",
            "alert_reference",
            "checks_completed_at",
            "met_at",
            "met_by",
            "identity_verified_with",
            "meeting_notes",
            "assessed_at",
            "assessed_by",
            "risk_level",
            "risk_assessment",
            "has_child_sexual_offence_convictions",
            "children",
            "checks",
            "decisions",
            "disclosure",
            "extensions",
            "letters",
        ]
        read_only_fields = fields


class ChildInputSerializer(serializers.Serializer):
    """A child as given."""

    name = serializers.CharField(max_length=200)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    carer_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    carer_knows = serializers.ChoiceField(choices=CarerKnows.choices, default=CarerKnows.UNKNOWN)


class OpenCaseSerializer(serializers.ModelSerializer):
    """First contact."""

    children = ChildInputSerializer(many=True)

    class Meta:
        model = DisclosureCase
        fields = [*CASE_FIELDS, "officer_in_charge", "reference", "children"]
        extra_kwargs = {"officer_in_charge": {"required": False}, "reference": {"required": False}}


class FromAlertSerializer(serializers.Serializer):
    """The alert to act on."""

    alert = serializers.IntegerField()


class CheckInputSerializer(serializers.Serializer):
    """A check made."""

    kind = serializers.ChoiceField(choices=CheckKind.choices)
    agency = serializers.CharField(required=False, allow_blank=True, max_length=200)
    result = serializers.CharField()
    made_at = serializers.DateTimeField(required=False)


class MeetingSerializer(serializers.Serializer):
    """The face-to-face meeting."""

    identity_verified_with = serializers.CharField(max_length=200)
    notes = serializers.CharField(required=False, allow_blank=True)
    met_at = serializers.DateTimeField(required=False)


class RiskAssessmentSerializer(serializers.Serializer):
    """The risk assessment."""

    risk_level = serializers.ChoiceField(choices=RiskLevel.choices)
    assessment = serializers.CharField()
    has_child_sexual_offence_convictions = serializers.BooleanField()


class ForumDecisionInputSerializer(serializers.Serializer):
    """The forum's decision."""

    forum = serializers.ChoiceField(choices=Forum.choices)
    held_at = serializers.DateTimeField(required=False)
    attendees = serializers.CharField()
    decision = serializers.ChoiceField(choices=Decision.choices)
    rationale = serializers.CharField()
    necessary_and_proportionate = serializers.BooleanField(default=False)


class UndertakingSerializer(serializers.Serializer):
    """The recipient, the warning and the undertaking."""

    recipient_name = serializers.CharField(max_length=200)
    recipient_relationship = serializers.CharField(max_length=200)
    recipient_is_applicant = serializers.BooleanField()
    recipient_reason = serializers.CharField(required=False, allow_blank=True)
    warning_given = serializers.BooleanField()
    signed = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True)
    at = serializers.DateTimeField(required=False)


class DisclosureInputSerializer(serializers.Serializer):
    """The disclosure made."""

    content = serializers.CharField()
    in_person = serializers.BooleanField()
    disclosed_at = serializers.DateTimeField(required=False)


class ExtensionRequestSerializer(serializers.Serializer):
    """A request for more time."""

    days = serializers.IntegerField(min_value=1)
    reason = serializers.CharField()


class ExtensionDecisionSerializer(serializers.Serializer):
    """A supervisor's decision."""

    approve = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True)


class StatisticsSerializer(serializers.Serializer):
    """The force's figures."""

    applications = serializers.IntegerField()
    right_to_be_told = serializers.IntegerField()
    disclosures = serializers.IntegerField()
    non_disclosures = serializers.IntegerField()
    completed = serializers.IntegerField()
    average_days = serializers.FloatField(allow_null=True)
    within_45_days = serializers.IntegerField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
