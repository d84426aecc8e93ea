"""Camera credentials through the API (issue 23): issued with the secret in the 201 answer only, listed without
secrets, revoked with a reason. The same services and rules as the pages (services/camera_credentials.py)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from apps.deployments.models import Asset
from govern.api.viewsets import RestrictedViewSet

from ..filtersets import CameraCredentialFilterSet
from ..models import CameraCredential
from ..services import camera_credentials


class CameraCredentialSerializer(serializers.ModelSerializer):
    """A credential as it is kept: its key id, who issued it and when, whether revoked; never its secret."""

    issued_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="The username of the commander who issued it."
    )
    asset_identifier = serializers.CharField(source="asset.identifier", read_only=True)

    class Meta:
        model = CameraCredential
        fields = ["id", "asset", "asset_identifier", "key_id", "issued_by", "issued_at", "revoked_at", "last_used_at"]
        read_only_fields = fields


class IssueCredentialSerializer(serializers.Serializer):
    """Which van or camera gets a new credential (its earlier ones are revoked)."""

    asset = serializers.PrimaryKeyRelatedField(queryset=Asset.objects.all(), help_text="The van's or camera's id.")


class IssuedCredentialSerializer(CameraCredentialSerializer):
    """A credential just issued, with its secret: shown in this answer only, never stored or shown again."""

    secret = serializers.CharField(
        read_only=True, help_text="`<key_id>.<secret>`: send it as `Authorization: Camera <secret>`. Shown once."
    )

    class Meta(CameraCredentialSerializer.Meta):
        fields = [*CameraCredentialSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class RevokeCredentialSerializer(serializers.Serializer):
    """Why a credential is revoked."""

    reason = serializers.CharField(max_length=2000)


class CameraCredentialViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Camera credentials: a commander issues, lists and revokes them."""

    queryset = CameraCredential.objects.select_related("asset", "issued_by").order_by("-issued_at", "-id")
    serializer_class = CameraCredentialSerializer
    filterset_class = CameraCredentialFilterSet
    parser_classes = [JSONParser]
    action_rules = {"create": "matching.add_cameracredential", "revoke": "matching.revoke_cameracredential"}

    @extend_schema(request=IssueCredentialSerializer, responses={201: IssuedCredentialSerializer})
    def create(self, request):
        """Issue a credential for a van or camera (a retired one is refused, 409): the secret is in this answer only."""
        body = IssueCredentialSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        secret = camera_credentials.issue_credential(request.user, body.validated_data["asset"])
        credential = self.get_queryset().get(key_id=secret.partition(".")[0])
        credential.secret = secret
        response = Response(IssuedCredentialSerializer(credential).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"  # the secret must not stay in any cache
        return response

    @extend_schema(request=RevokeCredentialSerializer, responses=CameraCredentialSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Revoke a credential at once, with the reason: no frame is admitted with it afterwards."""
        body = RevokeCredentialSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        credential = camera_credentials.revoke_credential(request.user, self.get_object(), **body.validated_data)
        return Response(self.get_serializer(credential).data)
