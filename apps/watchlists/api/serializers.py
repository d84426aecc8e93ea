"""Serializers of the watchlists API: input is validated here, rules are enforced by the services."""

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from ..choices import ApprovalRoute, Category, LegalBasis
from ..enrolments import enrolment_of
from ..models import CustodyImage, Entry, Review, Subject, Watchlist
from ..services.custody import SUBJECT_FIELDS


class SubjectSerializer(serializers.ModelSerializer):
    """A person in the gallery."""

    image_ids = serializers.PrimaryKeyRelatedField(source="images", many=True, read_only=True)

    class Meta:
        model = Subject
        fields = ["id", *SUBJECT_FIELDS, "image_ids", "created_at", "updated_at"]
        read_only_fields = ["id", "image_ids", "created_at", "updated_at"]


class SubjectUpdateSerializer(serializers.ModelSerializer):
    """A correction to a subject, with the reason for it."""

    reason = serializers.CharField(max_length=2000)

    class Meta:
        model = Subject
        fields = [*SUBJECT_FIELDS, "reason"]
        extra_kwargs = {field: {"required": False} for field in fields if field != "reason"}


class CustodyImageSerializer(serializers.ModelSerializer):
    """An image's record (never its bytes: those come from /content/ with a reason)."""

    class Meta:
        model = CustodyImage
        fields = [
            "id",
            "subject",
            "captured_on",
            "source_system",
            "legal_basis",
            "legal_basis_note",
            "uploaded_by",
            "uploaded_at",
            "content_type",
            "width",
            "height",
            "size_bytes",
            "sha256",
        ]
        read_only_fields = fields


class ImageUploadSerializer(serializers.Serializer):
    """A new custody image for a subject (multipart)."""

    image = serializers.FileField()
    captured_on = serializers.DateField()
    source_system = serializers.CharField(max_length=100)
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices)
    legal_basis_note = serializers.CharField(required=False, allow_blank=True, default="")


class EngineEnrolmentSerializer(serializers.Serializer):
    """The templates one engine made of a version."""

    engine = serializers.CharField()
    weights_sha256 = serializers.CharField()
    templates = serializers.IntegerField()
    complete = serializers.BooleanField(help_text="A template for every entry of the version.")
    in_use = serializers.BooleanField(help_text="This is the engine (and weights) in use now.")


class EnrolmentSerializer(serializers.Serializer):
    """Where an approved version is enrolled, beside the engine in use: go-live and live capture refuse a version
    with no complete set on the engine in use; an authorising officer re-enrols it
    (POST /api/matching/watchlists/{id}/reenrol/)."""

    engine_in_use = serializers.CharField()
    weights_in_use = serializers.CharField()
    on_engine_in_use = serializers.BooleanField(help_text="A complete set of templates on the engine in use.")
    engines = EngineEnrolmentSerializer(many=True, help_text="Every engine the version has templates of.")


class WatchlistSerializer(serializers.ModelSerializer):
    """A watchlist's record; its entries (personal data) come from /entries/ with a reason."""

    entry_count = serializers.IntegerField(source="entries.count", read_only=True)
    # Blank until the list is approved; the schema's enum must allow that.
    approval_route = serializers.ChoiceField(choices=ApprovalRoute.choices, allow_blank=True, read_only=True)
    enrolment = serializers.SerializerMethodField(
        help_text="The approved version's enrolments beside the engine in use; null until a version is approved."
    )

    class Meta:
        model = Watchlist
        fields = [
            "id",
            "reference",
            "purpose",
            "intended_start",
            "intended_end",
            "state",
            "version",
            "compiled_by",
            "approved_version",
            "approved_hash",
            "approved_by",
            "approved_at",
            "approval_route",
            "ratify_by",
            "ratified_by",
            "ratified_at",
            "entry_count",
            "enrolment",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [f for f in fields if f not in {"purpose", "intended_start", "intended_end"}]

    @extend_schema_field(EnrolmentSerializer(allow_null=True))
    def get_enrolment(self, watchlist) -> dict | None:
        return enrolment_of(watchlist, watchlist.approved_hash)


class EntrySerializer(serializers.ModelSerializer):
    """One person on a list."""

    subject_name = serializers.CharField(source="subject.__str__", read_only=True)
    image_stale = serializers.SerializerMethodField()

    class Meta:
        model = Entry
        fields = [
            "id",
            "watchlist",
            "subject",
            "subject_name",
            "image",
            "image_stale",
            "category",
            "offence",
            "order_details",
            "justification",
            "under_18_rationale",
            "added_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_image_stale(self, entry) -> bool:
        from ..services import custody

        return custody.image_is_stale(entry.image)


class EntryWriteSerializer(serializers.Serializer):
    """An entry to add or change; the service checks the category rules."""

    subject = serializers.PrimaryKeyRelatedField(queryset=Subject.objects.all())
    image = serializers.PrimaryKeyRelatedField(queryset=CustodyImage.objects.all())
    category = serializers.CharField(max_length=32, help_text=f"One of: {', '.join(Category.values)}.")
    justification = serializers.CharField(allow_blank=True)
    offence = serializers.CharField(required=False, allow_blank=True, default="")
    order_details = serializers.CharField(required=False, allow_blank=True, default="")
    under_18_rationale = serializers.CharField(required=False, allow_blank=True, default="")


class EntryUpdateSerializer(serializers.Serializer):
    """Changes to an entry."""

    image = serializers.PrimaryKeyRelatedField(queryset=CustodyImage.objects.all(), required=False)
    category = serializers.CharField(max_length=32, required=False)
    justification = serializers.CharField(required=False, allow_blank=True)
    offence = serializers.CharField(required=False, allow_blank=True)
    order_details = serializers.CharField(required=False, allow_blank=True)
    under_18_rationale = serializers.CharField(required=False, allow_blank=True)


@extend_schema_serializer(component_name="EntryRemoval")  # not the deployments' "Reason": one name, one body
class ReasonSerializer(serializers.Serializer):
    """Why (for removing an entry)."""

    reason = serializers.CharField(max_length=2000)


class ApproveSerializer(serializers.Serializer):
    """An approval of exactly the version reviewed."""

    content_hash = serializers.RegexField(r"^[0-9a-f]{64}$", help_text="The hash of the version you reviewed.")
    route = serializers.ChoiceField(choices=ApprovalRoute.choices, default=ApprovalRoute.STANDARD)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class CommentSerializer(serializers.Serializer):
    """A decision's comment."""

    comment = serializers.CharField(max_length=2000, allow_blank=True)


class ReviewSerializer(serializers.ModelSerializer):
    """A submitted version as reviewed, with what changed since the last approval."""

    changes = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "watchlist",
            "version",
            "content_hash",
            "state",
            "submitted_by",
            "submitted_at",
            "decided_by",
            "decided_at",
            "route",
            "comment",
            "snapshot",
            "changes",
        ]
        read_only_fields = fields

    def get_changes(self, review) -> dict:
        from ..services import watchlists

        return watchlists.changes_since_approval(review.watchlist, review.snapshot)


class ErasureSerializer(serializers.Serializer):
    """Why a subject or custody image is erased (recorded in the log under your name)."""

    reason = serializers.CharField(
        max_length=2000, help_text="The request it carries out (its reference), not the person's name: it is logged."
    )


class ErasureAnswerSerializer(serializers.Serializer):
    """What an erasure did: nothing when it was already gone; else the receipt's event and the lists changed."""

    erased = serializers.BooleanField()
    receipt = serializers.IntegerField(allow_null=True, help_text="The erasure's receipt: its event in the audit log.")
    images = serializers.IntegerField()
    lists_changed = serializers.ListField(child=serializers.IntegerField(), help_text="Each now a new draft version.")
