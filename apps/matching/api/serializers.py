"""Serializers of the alerts API (never the probe's bytes: those come with a reason)."""

from rest_framework import serializers

from ..choices import Outcome
from ..models import Alert


class AlertSerializer(serializers.ModelSerializer):
    """An alert and its judgement."""

    subject_name = serializers.CharField(source="subject.__str__", read_only=True)

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
        ]
        read_only_fields = fields


class JudgementSerializer(serializers.Serializer):
    """An officer's judgement."""

    match = serializers.BooleanField()
    reason = serializers.CharField(max_length=2000)


class OutcomeSerializer(serializers.Serializer):
    """What followed an engagement."""

    outcome = serializers.ChoiceField(choices=Outcome.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
