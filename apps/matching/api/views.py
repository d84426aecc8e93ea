"""The camera-facing capture endpoint and the engine's status."""

from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema, inline_serializer
from rest_framework import exceptions, parsers, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from govern.api.viewsets import StrictQueryMixin

from .. import services

CAMERA_SCHEME = "Camera"


class RawImageParser(parsers.BaseParser):
    """A frame posted as the body itself (image/jpeg)."""

    media_type = "image/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {"frame": stream.read()}


class CaptureView(StrictQueryMixin, APIView):
    """A van or camera posts a frame (JPEG) while its deployment is live; each face becomes an alert or a receipt."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [RawImageParser, parsers.MultiPartParser]
    extra_query_parameters = frozenset({"deployment"})

    @extend_schema(
        parameters=[
            OpenApiParameter("deployment", int, description="The deployment the camera believes it serves."),
            OpenApiParameter(
                "Authorization", str, OpenApiParameter.HEADER, required=True, description="Camera <key_id>.<secret>"
            ),
        ],
        request={"image/jpeg": OpenApiTypes.BINARY},
        responses={
            201: inline_serializer(
                "CaptureResult",
                {
                    "capture": serializers.UUIDField(),
                    "faces": serializers.IntegerField(),
                    "alerts": serializers.ListField(child=serializers.IntegerField()),
                    "receipts": serializers.IntegerField(),
                },
            )
        },
    )
    def post(self, request):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        asset = services.authenticate_camera(token.strip()) if scheme == CAMERA_SCHEME else None
        if asset is None:
            raise exceptions.AuthenticationFailed("A valid camera credential is required (Authorization: Camera …).")
        frame = request.data.get("frame")
        if hasattr(frame, "read"):
            frame = frame.read()
        if not frame:
            raise exceptions.ValidationError({"frame": "Post the frame as an image/jpeg body or a 'frame' file."})
        deployment = request.query_params.get("deployment")
        if deployment is not None and not deployment.isdigit():
            raise exceptions.ValidationError({"deployment": "A deployment id is a whole number."})
        try:
            result = services.capture_frame(asset, frame, deployment_id=int(deployment) if deployment else None)
        except services.CaptureRefused as exc:
            status_code = status.HTTP_400_BAD_REQUEST if str(exc).startswith("Frame refused") else 403
            return Response({"detail": str(exc)}, status=status_code)
        body = {
            "capture": result.capture_id,
            "faces": result.faces,
            "alerts": result.alerts,
            "receipts": result.receipts,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    def get_authenticate_header(self, request):
        return CAMERA_SCHEME
