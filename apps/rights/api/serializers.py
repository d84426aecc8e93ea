"""Serializers of the requests desk's API: a summary without the requester's details for lists and answers; the
whole request, read through its selector and logged."""

from rest_framework import serializers

from ..choices import MAX_EXTENSION_MONTHS, Decision, IdentityMethod, RefusalGround
from ..models import RightsRequest
from ..services import LOG_FIELDS


class RightsRequestSummarySerializer(serializers.ModelSerializer):
    """A request without the requester's details: what the desk's list shows and what a change answers."""

    overdue = serializers.SerializerMethodField()
    restricted = serializers.SerializerMethodField()
    # Blank until decided: declared, because DRF drops allow_blank from a read-only model field, and the schema
    # would then say "" is not a value these can take.
    decision = serializers.ChoiceField(choices=Decision.choices, allow_blank=True, read_only=True)
    refusal_ground = serializers.ChoiceField(choices=RefusalGround.choices, allow_blank=True, read_only=True)

    class Meta:
        model = RightsRequest
        fields = [
            "id", "reference", "kind", "state", "channel", "received_at", "due_at", "extension_months", "overdue",
            "decision", "refusal_ground", "decided_at", "responded_at", "restricted",
        ]  # fmt: skip
        read_only_fields = fields

    def get_overdue(self, request) -> bool:
        return request.overdue()

    def get_restricted(self, request) -> bool:
        """Whether a restriction this request imposed stands."""
        return (
            request.subject_id is not None
            and request.subject.restrictions.filter(
                request_reference=request.reference, lifted_at__isnull=True
            ).exists()
        )


class RightsRequestSerializer(RightsRequestSummarySerializer):
    """The whole request: who asked, for what, the record linked, identity, decision and response."""

    identity_method = serializers.ChoiceField(choices=IdentityMethod.choices, allow_blank=True, read_only=True)

    class Meta(RightsRequestSummarySerializer.Meta):
        fields = [
            *RightsRequestSummarySerializer.Meta.fields,
            "requester_name", "requester_date_of_birth", "requester_pnc_id", "requester_contact", "details",
            "subject", "linked_by", "linked_at", "identity_method", "identity_note", "identity_checked_by",
            "identity_checked_at", "extension_reason", "logged_by", "logged_at", "decision_note", "decided_by",
            "convicted", "presumption_reasons", "response", "responded_by",
        ]  # fmt: skip
        read_only_fields = fields


class LogRightsRequestSerializer(serializers.ModelSerializer):
    """What is logged when a request arrives."""

    class Meta:
        model = RightsRequest
        fields = list(LOG_FIELDS)
        extra_kwargs = {"requester_pnc_id": {"required": False}, "details": {"required": False}}


class SubjectLinkSerializer(serializers.Serializer):
    """Find the person's record: by PNC ID, or by name with the date of birth."""

    pnc_id = serializers.CharField(required=False, allow_blank=True, max_length=20)
    name = serializers.CharField(required=False, allow_blank=True, max_length=250)
    date_of_birth = serializers.DateField(required=False, allow_null=True)


class SubjectLinkAnswerSerializer(RightsRequestSummarySerializer):
    """The request after a look-up, with how many people matched (0, 1, or 2 for more than one)."""

    matches = serializers.IntegerField(read_only=True)

    class Meta(RightsRequestSummarySerializer.Meta):
        fields = [*RightsRequestSummarySerializer.Meta.fields, "matches"]
        read_only_fields = fields


class IdentityCheckSerializer(serializers.Serializer):
    """How identity was checked, and what was seen."""

    method = serializers.ChoiceField(choices=IdentityMethod.choices)
    note = serializers.CharField(max_length=2000)


class RightsExtensionSerializer(serializers.Serializer):
    """More time for a complex request, with the reason."""

    months = serializers.IntegerField(min_value=1, max_value=MAX_EXTENSION_MONTHS)
    reason = serializers.CharField(max_length=2000)


class RightsDecisionSerializer(serializers.Serializer):
    """Grant or refuse; a refusal names its ground and says why; an erasure decision records the conviction."""

    decision = serializers.ChoiceField(choices=Decision.choices)
    refusal_ground = serializers.ChoiceField(choices=RefusalGround.choices, required=False, allow_blank=True)
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    convicted = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Erasure only: whether the person was convicted."
    )
    presumption_reasons = serializers.CharField(
        max_length=4000, required=False, allow_blank=True, help_text="Erasure refused, person not convicted: why kept."
    )


class RightsResponseSerializer(serializers.Serializer):
    """What the person was told, and how."""

    response = serializers.CharField(max_length=4000)


class RestrictionLiftSerializer(serializers.Serializer):
    """Why the restriction is lifted."""

    reason = serializers.CharField(max_length=2000)
