"""The capture agent's endpoints (issue 25): its session, its status and its batches of tracks, with the camera's
credential (the contract: docs/architecture.md, capture agents)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, parsers, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from govern.api.viewsets import StrictQueryMixin

from ..services import camera_credentials, live_capture, tracks
from .serializers import (
    AgentBatchRefusedSerializer,
    AgentBatchResultSerializer,
    AgentBatchSerializer,
    AgentSessionSerializer,
    AgentStatusSerializer,
)
from .views import CAMERA_SCHEME, _camera, _deployment_param

AGENT_PARAMETERS = [
    OpenApiParameter("deployment", int, required=True, description="The deployment the agent captures for."),
    OpenApiParameter(
        "Authorization", str, OpenApiParameter.HEADER, required=True, description="Camera <key_id>.<secret>"
    ),
]


def _refused(exc) -> Response:
    code = status.HTTP_400_BAD_REQUEST if str(exc).startswith("Batch refused") else status.HTTP_403_FORBIDDEN
    body = {"detail": str(exc)}
    if isinstance(exc, tracks.TracksRefused):
        body["tracks"] = exc.tracks
    return Response(body, status=code)


class AgentView(StrictQueryMixin, APIView):
    """An agent's request: its camera credential (401 without) and the deployment it names (400 without)."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    extra_query_parameters = frozenset({"deployment"})

    def get_authenticate_header(self, request):
        return CAMERA_SCHEME

    def _admitted(self, request):
        camera = _camera(request, engine=True)
        deployment = _deployment_param(request)
        if deployment is None:
            raise exceptions.ValidationError({"deployment": "Name the deployment: ?deployment=<id>."})
        return camera, deployment


class AgentSessionView(AgentView):
    """What the agent matches with, while its deployment is live (logged)."""

    @extend_schema(parameters=AGENT_PARAMETERS, responses={200: AgentSessionSerializer})
    def get(self, request):
        camera, deployment = self._admitted(request)
        try:
            body = tracks.session(camera, deployment)
        except live_capture.CaptureRefused as exc:
            return _refused(exc)
        camera_credentials.record_use(request.camera_key_id)
        return Response(body)


class AgentStatusView(AgentView):
    """Whether the agent may capture now; polled every `poll_seconds`."""

    @extend_schema(parameters=AGENT_PARAMETERS, responses={200: AgentStatusSerializer})
    def get(self, request):
        camera, deployment = self._admitted(request)
        try:
            return Response(tracks.status(camera, deployment))
        except live_capture.CaptureRefused as exc:
            return _refused(exc)


class AgentBatchView(AgentView):
    """A batch of tracks, recorded whole or not at all, once (201; a resend 200 with `duplicate: true`; the same id
    with another body 409)."""

    parser_classes = [parsers.JSONParser]

    @extend_schema(
        parameters=AGENT_PARAMETERS,
        request=AgentBatchSerializer,
        responses={201: AgentBatchResultSerializer, 200: AgentBatchResultSerializer, 403: AgentBatchRefusedSerializer},
    )
    def post(self, request):
        camera, deployment = self._admitted(request)
        body = AgentBatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sent = [tracks.Track(**{**track, "track": str(track["track"])}) for track in body.validated_data["tracks"]]
        try:
            answer = tracks.record_batch(camera, deployment, body.validated_data["batch"], sent, request.data)
        except live_capture.CaptureRefused as exc:
            return _refused(exc)
        except tracks.BatchConflict as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        if answer.created:
            camera_credentials.record_use(request.camera_key_id)
        return Response(answer.body, status=status.HTTP_201_CREATED if answer.created else status.HTTP_200_OK)
