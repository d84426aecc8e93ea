"""Serializers of the alerts API (never the probe's bytes: those come with a reason)."""

from rest_framework import serializers

from ..choices import AgeBand, EthnicGroup, IdentityCheck, Outcome, PerceivedSex
from ..models import Alert, Probe, SearchRequest
from ..services.alert_handling import MAX_STOP_MINUTES


class AlertSerializer(serializers.ModelSerializer):
    """An alert and its judgement."""

    subject_name = serializers.CharField(source="subject.__str__", read_only=True)
    # Blank until an outcome is recorded; the schema's enum must allow that.
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True, read_only=True)
    identity_check = serializers.ChoiceField(choices=IdentityCheck.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "deployment",
            "capture",
            "subject",
            "subject_name",
            "entry",
            "score",
            "threshold",
            "candidates",
            "engine",
            "weights_sha256",
            "watchlist_hash",
            "created_at",
            "state",
            "adjudicated_by",
            "adjudicated_at",
            "adjudication_reason",
            "engaged_by",
            "engaged_at",
            "outcome",
            "outcome_note",
            "perceived_sex",
            "perceived_age",
            "perceived_ethnicity",
            "identity_check",
            "stop_minutes",
            "complaint_reference",
        ]
        read_only_fields = fields


class PersonSerializer(serializers.Serializer):
    """What the officer perceived of the person the alert concerned (each optional; left out: kept as recorded)."""

    perceived_sex = serializers.ChoiceField(choices=PerceivedSex.choices, required=False)
    perceived_age = serializers.ChoiceField(choices=AgeBand.choices, required=False)
    perceived_ethnicity = serializers.ChoiceField(choices=EthnicGroup.choices, required=False)


class JudgementSerializer(PersonSerializer):
    """An officer's judgement."""

    match = serializers.BooleanField()
    reason = serializers.CharField(max_length=2000)


class OutcomeSerializer(PersonSerializer):
    """The stop record: how identity was checked, how long the stop lasted, what followed, any complaint."""

    outcome = serializers.ChoiceField(choices=Outcome.recordable())
    identity_check = serializers.ChoiceField(choices=IdentityCheck.choices)
    stop_minutes = serializers.IntegerField(min_value=0, max_value=MAX_STOP_MINUTES)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    complaint_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class ComplaintSerializer(serializers.Serializer):
    """A complaint made about a stop."""

    complaint_reference = serializers.CharField(max_length=100)


class SearchStatusSerializer(serializers.ModelSerializer):
    """A search's status: what a retail partner may see (no candidates, no identities)."""

    refused = serializers.SerializerMethodField()

    class Meta:
        model = SearchRequest
        fields = [
            "id",
            "reference",
            "incident_reference",
            "crime_type",
            "sharing_agreement",
            "state",
            "total",
            "processed",
            "refused",
            "submitted_at",
            "closed_at",
        ]
        read_only_fields = fields

    def get_refused(self, request) -> list[dict]:
        return [{"position": p.position, "reason": p.refusal} for p in request.probes.filter(state="refused")]


class SearchSubmitSerializer(serializers.Serializer):
    """A new search: one or more stills (multipart `stills`), the incident and, for retail, the agreement."""

    incident_reference = serializers.CharField(max_length=100)
    crime_type = serializers.CharField(max_length=100)
    sharing_agreement = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class ProbeSerializer(serializers.ModelSerializer):
    """A still's candidates and their review (for officers)."""

    class Meta:
        model = Probe
        fields = [
            "id",
            "position",
            "state",
            "refusal",
            "candidates",
            "engine",
            "weights_sha256",
            "chosen_subject",
            "operator",
            "operator_note",
            "confirmed_by",
            "corroboration",
        ]
        read_only_fields = fields


class ChoiceSerializer(serializers.Serializer):
    """The operator's choice: a candidate subject, or none."""

    subject = serializers.IntegerField(allow_null=True)
    note = serializers.CharField(max_length=2000)


class ConfirmSerializer(serializers.Serializer):
    """The investigating officer's corroboration."""

    corroboration = serializers.CharField(max_length=4000)
