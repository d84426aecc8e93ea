"""Oversight API shapes: no biometric field anywhere."""

from rest_framework import serializers

from ..choices import ChangeKind, DataClass
from ..models import GovernedChange, Notification, RetentionPolicy, RetentionReview


class LedgerSerializer(serializers.Serializer):
    """A deployment's faces, alerts and receipts."""

    deployment = serializers.IntegerField(source="deployment.pk")
    reference = serializers.CharField(source="deployment.reference")
    state = serializers.CharField(source="deployment.state")
    faces = serializers.IntegerField()
    alerts = serializers.IntegerField()
    receipts = serializers.IntegerField()
    reconciles = serializers.BooleanField()
    problem = serializers.CharField()


class PurgeSerializer(serializers.Serializer):
    """An ended watchlist's purge status."""

    watchlist = serializers.IntegerField(source="watchlist.pk")
    reference = serializers.CharField(source="watchlist.reference")
    state = serializers.CharField(source="watchlist.state")
    templates_left = serializers.IntegerField()
    absence_confirmed = serializers.BooleanField()
    vacuumed = serializers.BooleanField()
    receipt = serializers.BooleanField()
    manifest = serializers.BooleanField()
    ok = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())


class DeletionEvidenceSerializer(serializers.Serializer):
    """One kind of biometric's deletion evidence."""

    kind = serializers.CharField()
    label = serializers.CharField()
    deleted = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    vacuumed = serializers.IntegerField()
    before_evidence = serializers.IntegerField(help_text="Deleted before this database took deletion evidence.")
    ok = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())


class RetentionStatusSerializer(serializers.Serializer):
    """A data class, its period, and what is past it."""

    data_class = serializers.CharField()
    label = serializers.CharField()
    hours = serializers.IntegerField()
    due = serializers.IntegerField()
    held = serializers.SerializerMethodField()
    note = serializers.CharField()
    minimum_days = serializers.IntegerField()
    maximum_days = serializers.IntegerField()
    last_review = serializers.SerializerMethodField()

    def get_last_review(self, status) -> dict | None:
        review = status.review
        if review is None:
            return None
        return RetentionReviewSerializer(review).data

    def get_held(self, status) -> list[dict]:
        return [
            {"alert": a.pk, "reason": a.hold_reason, "owner": a.hold_by.get_username() if a.hold_by else ""}
            for a in status.held
        ]


class RetentionPolicySerializer(serializers.ModelSerializer):
    """A policy as set."""

    changed_by = serializers.CharField(source="changed_by.username", read_only=True)

    class Meta:
        model = RetentionPolicy
        fields = ["data_class", "hours", "reason", "changed_by", "changed_at"]


class RetentionReviewSerializer(serializers.ModelSerializer):
    """A recorded review of a class's period."""

    reviewed_by = serializers.CharField(source="reviewed_by.username", read_only=True)

    class Meta:
        model = RetentionReview
        fields = ["data_class", "hours", "finding", "reviewed_by", "reviewed_at", "next_review_on"]


class ReviewRetentionSerializer(serializers.Serializer):
    """A review of one class's period to record."""

    data_class = serializers.ChoiceField(choices=DataClass.choices)
    finding = serializers.CharField()
    next_review_on = serializers.DateField()


class SetRetentionSerializer(serializers.Serializer):
    """A new period for a data class."""

    data_class = serializers.ChoiceField(choices=DataClass.choices)
    hours = serializers.IntegerField(min_value=0)
    reason = serializers.CharField()


class SweepItemSerializer(serializers.Serializer):
    """What the sweep did to one item."""

    data_class = serializers.CharField()
    target = serializers.CharField()
    outcome = serializers.CharField()
    detail = serializers.CharField()
    count = serializers.IntegerField()


class GovernedChangeSerializer(serializers.ModelSerializer):
    """A threshold or engine change and its decision."""

    proposed_by = serializers.CharField(source="proposed_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = GovernedChange
        fields = [
            "id",
            "kind",
            "version",
            "threshold",
            "engine_name",
            "engine_weights_sha256",
            "engine_calibrated",
            "reason",
            "equality_evidence",
            "evaluation",
            "safety",
            "evidence_name",
            "evidence_sha256",
            "state",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]


class ProposeSerializer(serializers.Serializer):
    """A proposal with its test report (multipart)."""

    kind = serializers.ChoiceField(choices=ChangeKind.choices)
    threshold = serializers.DecimalField(max_digits=4, decimal_places=3, required=False)
    reason = serializers.CharField()
    equality_evidence = serializers.CharField()
    evaluation = serializers.IntegerField(
        min_value=1, help_text="The id of a computed evaluation of the engine in force (manage.py evaluate_engine)."
    )
    evidence = serializers.FileField(required=False, help_text="Optional: a test report as well.")


class WithdrawalSerializer(serializers.Serializer):
    """Why a threshold or engine in force is withdrawn."""

    reason = serializers.CharField(max_length=2000)


class DecisionSerializer(serializers.Serializer):
    """A countersignature's or a rejection's note."""

    note = serializers.CharField(required=False, allow_blank=True, default="")


class NotificationSerializer(serializers.ModelSerializer):
    """A finding raised to the privacy officers."""

    class Meta:
        model = Notification
        fields = ["id", "key", "level", "title", "message", "url", "raised_at", "resolved_at"]


class AccessEventSerializer(serializers.Serializer):
    """A consultation or disclosure with its flags."""

    seq = serializers.IntegerField(source="event.seq")
    time = serializers.DateTimeField(source="event.created_at")
    kind = serializers.CharField()
    action = serializers.CharField(source="event.action")
    actor = serializers.CharField(source="event.actor_username")
    target_type = serializers.CharField(source="event.target_type")
    target_id = serializers.CharField(source="event.target_id")
    reason = serializers.CharField(source="event.reason")
    flags = serializers.ListField(child=serializers.CharField())


class EqualityCellSerializer(serializers.Serializer):
    """Adjudicated alerts of one group of people the alerts concerned (as officers perceived them), under one engine
    and threshold. A suppressed figure is null: a group of fewer than 10 alerts, counts of 1 to 4, and what would give
    them back by subtraction (equality.protect)."""

    group = serializers.CharField()
    label = serializers.CharField()
    true = serializers.SerializerMethodField()
    false = serializers.SerializerMethodField()
    total = serializers.SerializerMethodField()
    false_rate = serializers.FloatField(allow_null=True)
    interval_low = serializers.SerializerMethodField()
    interval_high = serializers.SerializerMethodField()
    false_per_1000_faces = serializers.FloatField(source="per_thousand_faces", allow_null=True)

    def get_true(self, cell) -> int | None:
        return cell.published_true

    def get_false(self, cell) -> int | None:
        return cell.published_false

    def get_total(self, cell) -> int | None:
        return cell.published_total

    def get_interval_low(self, cell) -> float | None:
        return cell.interval[0] if cell.interval else None

    def get_interval_high(self, cell) -> float | None:
        return cell.interval[1] if cell.interval else None


class MisidentificationSerializer(serializers.Serializer):
    """An alert found false, with its stop record: no name, no image, nothing of the listed subject."""

    id = serializers.IntegerField()
    deployment = serializers.CharField(source="deployment.reference")
    created_at = serializers.DateTimeField()
    score = serializers.FloatField()
    threshold = serializers.DecimalField(max_digits=4, decimal_places=3)
    engine = serializers.CharField()
    found_false = serializers.SerializerMethodField()
    adjudication_reason = serializers.CharField()
    outcome_note = serializers.CharField()
    perceived_sex = serializers.CharField()
    perceived_age = serializers.CharField()
    perceived_ethnicity = serializers.CharField()
    identity_check = serializers.CharField()
    stop_minutes = serializers.IntegerField(allow_null=True)
    complaint_reference = serializers.CharField()

    def get_found_false(self, alert) -> str:
        return "after_the_stop" if alert.engaged_at else "at_judgement"


class EqualityStandoutSerializer(serializers.Serializer):
    """A group whose false-alert rate stands above everyone else's beyond its interval."""

    dimension = serializers.CharField()
    group = serializers.CharField(source="cell.group")
    others_rate = serializers.FloatField()
    message = serializers.CharField()


class EqualityVersionSerializer(serializers.Serializer):
    """Everything adjudicated under one engine and threshold."""

    engine = serializers.CharField()
    threshold = serializers.DecimalField(max_digits=4, decimal_places=3)
    faces_processed = serializers.IntegerField(source="faces")
    perceived_ethnicity = EqualityCellSerializer(source="groups.perceived_ethnicity", many=True)
    perceived_sex = EqualityCellSerializer(source="groups.perceived_sex", many=True)
    perceived_age = EqualityCellSerializer(source="groups.perceived_age", many=True)
    standouts = EqualityStandoutSerializer(many=True)


class EqualityMonthSerializer(serializers.Serializer):
    """One month, engine, threshold and group."""

    month = serializers.DateTimeField(format="%Y-%m")
    engine = serializers.CharField()
    threshold = serializers.DecimalField(max_digits=4, decimal_places=3)
    dimension = serializers.CharField()
    cell = EqualityCellSerializer()
