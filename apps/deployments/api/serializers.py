"""Serializers of the deployments API."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import User
from apps.watchlists.api.serializers import EnrolmentSerializer
from apps.watchlists.enrolments import enrolment_of
from apps.watchlists.models import Watchlist
from govern import places

from .. import services
from ..models import Asset, Deployment, PolicyDocument, PublishedFigures


class AssetSerializer(serializers.ModelSerializer):
    """A van or camera."""

    class Meta:
        model = Asset
        fields = ["id", "kind", "identifier", "description", "active"]
        read_only_fields = ["id", "active"]


class PolicyDocumentSerializer(serializers.ModelSerializer):
    """A version of a DPIA, EIA or APD."""

    class Meta:
        model = PolicyDocument
        fields = [
            "id",
            "kind",
            "version",
            "title",
            "reference",
            "approved_on",
            "approved_by",
            "review_by",
            "recorded_at",
        ]
        read_only_fields = ["id", "approved_on", "approved_by", "recorded_at"]


class DeploymentFiguresSerializer(serializers.ModelSerializer):
    """A deployment's figures, counted from its records (its own name in the schema: an alert's stop record is the
    `AlertOutcome` body, and two components both called "Outcome" let a client take one for the other)."""

    class Meta:
        model = PublishedFigures
        fields = [
            "faces_processed",
            "alerts",
            "true_alerts",
            "false_alerts",
            "engagements",
            "arrests",
            "other_outcomes",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]


class ConditionSerializer(serializers.Serializer):
    """One gate condition."""

    name = serializers.CharField()
    ok = serializers.BooleanField()
    detail = serializers.CharField()


POSTCODE_HELP = (
    "The place's UK postcode (SW1A 1AA) or postcode district (SW1A), added to the address. Without latitude and "
    "longitude it places the deployment: a full postcode at its own point, a district at its centre (Ordnance "
    "Survey Code-Point Open, Great Britain; a Northern Ireland postcode needs the coordinates). An unknown postcode, "
    "or one outside the United Kingdom (Jersey, Guernsey, the Isle of Man), is refused with 400."
)
LATITUDE_HELP = (
    "In degrees north (WGS84). Optional when a postcode is given; coordinates given are checked to be in the United "
    "Kingdom (near a postcode of Great Britain, or in Northern Ireland) and refused with 400 otherwise."
)


def _postcode(value: str) -> str:
    """The postcode or district in its usual form: a shape error is the field's 400, before any lookup."""
    try:
        return places.normalise(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from exc


class DeploymentSerializer(serializers.ModelSerializer):
    """A deployment with its gate as it stands now."""

    assets = serializers.PrimaryKeyRelatedField(many=True, queryset=Asset.objects.all())
    documents = serializers.PrimaryKeyRelatedField(many=True, queryset=PolicyDocument.objects.all())
    watchlist = serializers.PrimaryKeyRelatedField(
        queryset=Watchlist.objects.all(), required=False, allow_null=True,
        help_text="Attached now or later (PATCH), once compiled; no deployment is authorised without one.",
    )  # fmt: skip
    team = serializers.PrimaryKeyRelatedField(
        many=True, queryset=User.objects.all(), required=False, help_text="The officers who see the alerts."
    )
    postcode = serializers.CharField(write_only=True, required=False, max_length=10, help_text=POSTCODE_HELP)
    gate = serializers.SerializerMethodField()
    enrolment = serializers.SerializerMethodField(
        help_text="Where the list's version (as authorised, else as approved) is enrolled, beside the engine in use."
    )

    class Meta:
        model = Deployment
        fields = [
            "id",
            "reference",
            "location_name",
            "address",
            "postcode",
            "latitude",
            "longitude",
            "location_type",
            "grounds",
            "evidence_refs",
            "start",
            "end",
            "watchlist",
            "threshold",
            "assets",
            "documents",
            "team",
            "state",
            "revision",
            "planned_by",
            "authorised_by",
            "authorised_at",
            "authorised_watchlist_hash",
            "notice_published_at",
            "notice_reference",
            "notice_exemption_reason",
            "signage_up",
            "leaflets_available",
            "briefing_done",
            "went_live_at",
            "completed_at",
            "status_reason",
            "gate",
            "enrolment",
        ]
        read_only_fields = [
            "id",
            "reference",
            "state",
            "revision",
            "planned_by",
            "authorised_by",
            "authorised_at",
            "authorised_watchlist_hash",
            "notice_published_at",
            "notice_reference",
            "notice_exemption_reason",
            "signage_up",
            "leaflets_available",
            "briefing_done",
            "went_live_at",
            "completed_at",
            "status_reason",
            "gate",
            "enrolment",
        ]
        extra_kwargs = {
            "latitude": {"required": False, "help_text": LATITUDE_HELP},
            "longitude": {"required": False, "help_text": "With the latitude, in degrees east (WGS84)."},
        }

    def validate_postcode(self, value):
        return _postcode(value)

    def get_gate(self, deployment) -> list[dict]:
        return ConditionSerializer(services.gate(deployment), many=True).data

    @extend_schema_field(EnrolmentSerializer(allow_null=True))
    def get_enrolment(self, deployment) -> dict | None:
        return enrolment_of(deployment.watchlist, services.list_version(deployment))


class DeploymentUpdateSerializer(serializers.Serializer):
    """A change to a plan, with the reason."""

    validated_whole = True  # the PATCH body is validated as it is: the reason is required (govern.api.schema)

    reason = serializers.CharField(max_length=2000)
    location_name = serializers.CharField(required=False, max_length=200)
    address = serializers.CharField(required=False, max_length=300)
    postcode = serializers.CharField(
        required=False, max_length=10, help_text=f"{POSTCODE_HELP} A new postcode alone moves the place to it."
    )
    latitude = serializers.DecimalField(
        required=False, max_digits=9, decimal_places=6, min_value=-90, max_value=90, help_text=LATITUDE_HELP
    )
    longitude = serializers.DecimalField(
        required=False, max_digits=9, decimal_places=6, min_value=-180, max_value=180,
        help_text="With the latitude, in degrees east (WGS84).",
    )  # fmt: skip
    grounds = serializers.CharField(required=False)
    evidence_refs = serializers.CharField(required=False, allow_blank=True)
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    threshold = serializers.DecimalField(required=False, max_digits=4, decimal_places=3, min_value=0, max_value=1)
    watchlist = serializers.PrimaryKeyRelatedField(queryset=Watchlist.objects.all(), required=False)
    assets = serializers.PrimaryKeyRelatedField(many=True, queryset=Asset.objects.all(), required=False)
    documents = serializers.PrimaryKeyRelatedField(many=True, queryset=PolicyDocument.objects.all(), required=False)

    def validate_postcode(self, value):
        return _postcode(value)


EARLIEST_NOTICE_YEAR = 1900


class TeamSerializer(serializers.Serializer):
    """The officers working at a deployment, and why the team changes."""

    team = serializers.PrimaryKeyRelatedField(many=True, queryset=User.objects.all())
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class NoticeSerializer(serializers.Serializer):
    """Where and when the advance notice was published."""

    published_at = serializers.DateTimeField(
        required=False, help_text="When it was published: no earlier than the plan, never in the future; omit for now."
    )
    reference = serializers.CharField(max_length=300)

    def validate_published_at(self, value):
        # Before 1900 is a typing slip; it would also come back in local mean time (-00:01:15), not RFC 3339.
        if value.year < EARLIEST_NOTICE_YEAR:
            raise serializers.ValidationError(f"A notice published before {EARLIEST_NOTICE_YEAR} is not plausible.")
        return value


class ReasonSerializer(serializers.Serializer):
    """A reason."""

    reason = serializers.CharField(max_length=2000)


class StoppedSerializer(serializers.Serializer):
    """The deployments an emergency stop stopped."""

    stopped = serializers.ListField(child=serializers.CharField())


class ChecklistSerializer(serializers.Serializer):
    """On-site ticks."""

    signage_up = serializers.BooleanField(required=False)
    leaflets_available = serializers.BooleanField(required=False)
    briefing_done = serializers.BooleanField(required=False)


class PublishedDeploymentSerializer(serializers.Serializer):
    """A completed deployment as the public sees it."""

    reference = serializers.CharField()
    date = serializers.DateField()
    location = serializers.CharField()
    location_type = serializers.CharField()
    start = serializers.CharField()
    end = serializers.CharField()
    watchlist_size = serializers.IntegerField()
    faces_processed = serializers.IntegerField()
    alerts = serializers.IntegerField()
    false_alerts = serializers.IntegerField()
    arrests = serializers.IntegerField()


class YearlyTotalSerializer(serializers.Serializer):
    """Deployments and their figures in one calendar year."""

    year = serializers.CharField()
    deployments = serializers.IntegerField()
    watchlist_size = serializers.IntegerField()
    faces_processed = serializers.IntegerField()
    alerts = serializers.IntegerField()
    false_alerts = serializers.IntegerField()
    arrests = serializers.IntegerField()


class PublishedRecordSerializer(serializers.Serializer):
    """The public record: every completed deployment, and the totals per year."""

    deployments = PublishedDeploymentSerializer(many=True)
    yearly_totals = YearlyTotalSerializer(many=True)
