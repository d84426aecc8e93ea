"""The camera-facing capture endpoint and the engine's status."""

import re

from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import exceptions, mixins, parsers, permissions, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.access import stated_reason
from apps.watchlists.models import Watchlist
from govern import policy
from govern.api.permissions import PolicyPermission
from govern.api.viewsets import RestrictedReadOnlyViewSet, RestrictedViewSet, StrictQueryMixin

from .. import selectors
from ..models import Alert, Capture, Probe, SearchRequest
from ..services import alert_handling, camera_credentials, capture_queue, enrolment, live_capture, retrospective
from .filtersets import CaptureFilterSet
from .serializers import (
    AlertOutcomeSerializer,
    AlertSerializer,
    CaptureResultSerializer,
    CaptureSerializer,
    ChoiceSerializer,
    CloseSerializer,
    ComplaintSerializer,
    ConfirmSerializer,
    CropsUploadSerializer,
    FrameUploadSerializer,
    JudgementSerializer,
    PersonSerializer,
    ProbeSerializer,
    ReenrolResultSerializer,
    ReenrolSerializer,
    SearchStatusSerializer,
    SearchSubmitSerializer,
    SearchUploadSerializer,
)

CAMERA_SCHEME = "Camera"


# The image types a frame may be sent as (govern.uploads judges the bytes whatever the header says).
FRAME_TYPES = ("image/jpeg", "image/png", "image/webp")
CAMERA_PARAMETERS = [
    OpenApiParameter("deployment", int, description="The deployment the camera believes it serves."),
    OpenApiParameter(
        "Authorization", str, OpenApiParameter.HEADER, required=True, description="Camera <key_id>.<secret>"
    ),
]


class RawImageParser(parsers.BaseParser):
    """A frame posted as the body itself (image/jpeg, image/png or image/webp)."""

    media_type = "image/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {"frame": stream.read()}


def _camera(request, *, engine: bool = False) -> live_capture.Camera:
    """The camera the request's credential names; with `engine`, as the face engine's admission reads it (frames
    leave that to the capture worker; the agent API needs it: its session names the engine and it re-scores alerts)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    camera = live_capture.camera_for_token(token, engine=engine) if scheme == CAMERA_SCHEME else None
    if camera is None:
        raise exceptions.AuthenticationFailed("A valid camera credential is required (Authorization: Camera …).")
    request.camera_key_id = token.partition(".")[0]
    return camera


def _deployment_param(request) -> int | None:
    deployment = request.query_params.get("deployment")
    if deployment is not None and not re.fullmatch(r"[0-9]{1,18}", deployment):
        raise exceptions.ValidationError({"deployment": "A deployment id is a whole number."})
    return int(deployment) if deployment else None


def _refused(exc) -> Response:
    code = status.HTTP_400_BAD_REQUEST if str(exc).startswith("Frame refused") else status.HTTP_403_FORBIDDEN
    return Response({"detail": str(exc)}, status=code)


def _result(request, result) -> Response:
    """A frame's or crops' answer; the credential's use is recorded only for what was accepted (a refused request
    changes nothing, the credential's row included)."""
    camera_credentials.record_use(request.camera_key_id)
    body = {"capture": result.capture_id, "faces": result.faces, "alerts": result.alerts, "receipts": result.receipts}
    return Response(body, status=status.HTTP_201_CREATED)


class CropsView(StrictQueryMixin, APIView):
    """A van that detects faces itself posts the crops (multipart, one `crop` file per face, up to 64); a capture
    worker embeds and matches them."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [parsers.MultiPartParser]
    extra_query_parameters = frozenset({"deployment"})
    answers_unavailable = capture_queue.UNAVAILABLE

    @extend_schema(
        parameters=CAMERA_PARAMETERS,
        request={"multipart/form-data": CropsUploadSerializer},
        responses={201: CaptureResultSerializer},
    )
    def post(self, request):
        camera = _camera(request)
        crops = [upload.read() for upload in request.FILES.getlist("crop")]
        try:
            result = capture_queue.submit_crops(camera, crops, deployment_id=_deployment_param(request))
        except live_capture.CaptureRefused as exc:
            return _refused(exc)
        return _result(request, result)

    def get_authenticate_header(self, request):
        return CAMERA_SCHEME


class CaptureView(StrictQueryMixin, APIView):
    """A van or camera posts a frame (JPEG, PNG or WebP) while its deployment is live; each face becomes an alert or
    a receipt. The web process admits the frame; a capture worker runs the models (services/capture_queue.py)."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [RawImageParser, parsers.MultiPartParser]
    extra_query_parameters = frozenset({"deployment"})
    answers_unavailable = capture_queue.UNAVAILABLE

    @extend_schema(
        parameters=CAMERA_PARAMETERS,
        request={
            **{media_type: OpenApiTypes.BINARY for media_type in FRAME_TYPES},
            "multipart/form-data": FrameUploadSerializer,
        },
        responses={201: CaptureResultSerializer},
    )
    def post(self, request):
        camera = _camera(request)
        frame = request.data.get("frame")
        if hasattr(frame, "read"):
            frame = frame.read()
        if not frame:
            raise exceptions.ValidationError(
                {"frame": "The frame is empty: post it as an image body (image/jpeg, image/png) or a 'frame' file."}
            )
        try:
            result = capture_queue.submit_frame(camera, frame, deployment_id=_deployment_param(request))
        except live_capture.CaptureRefused as exc:
            return _refused(exc)
        return _result(request, result)

    def get_authenticate_header(self, request):
        return CAMERA_SCHEME


class CaptureViewSet(RestrictedReadOnlyViewSet):
    """A deployment's frames, newest first: when each came, from which van, its faces, alerts and receipts. Open to
    whoever may see the deployment; no image, crop or template is kept to show."""

    queryset = Capture.objects.select_related("asset").order_by("-received_at", "-id")
    serializer_class = CaptureSerializer
    filterset_class = CaptureFilterSet

    def get_queryset(self):
        # Capture keeps Django's plain manager: its rows are restricted here, by the policy's scope.
        return self.queryset.filter(policy.scope(self.request.user, "matching.view_capture"))


class AlertViewSet(RestrictedViewSet):
    """Alerts: reading them is a logged consultation; judging them is an officer's."""

    queryset = Alert.objects.select_related("subject")
    serializer_class = AlertSerializer
    extra_query_parameters = frozenset({"deployment", "state"})

    @extend_schema(
        parameters=[
            OpenApiParameter("reason", str, required=True),
            OpenApiParameter("deployment", int),
            OpenApiParameter("state", str),
        ]
    )
    def list(self, request):
        """Alerts, newest first; the ids returned are logged with your reason."""
        reason = stated_reason(request)
        page = selectors.alerts(
            request.user,
            reason,
            deployment=_deployment_param(request),
            state=request.query_params.get("state", ""),
            take=lambda found: self.paginate_queryset(found.prefetch_related("sightings").order_by("-created_at")),
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(parameters=[OpenApiParameter("reason", str, required=True)])
    def retrieve(self, request, pk=None):
        """One alert; logged with your reason."""
        reason = stated_reason(request)
        return Response(self.get_serializer(selectors.alert(request.user, self.get_object(), reason)).data)

    @extend_schema(request=JudgementSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def adjudicate(self, request, pk=None):
        """Judge the alert: a true match or a false alert, with the reason."""
        body = JudgementSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = alert_handling.adjudicate(request.user, self.get_object(), **body.validated_data)
        return Response(self.get_serializer(alert).data)

    @extend_schema(request=PersonSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def engage(self, request, pk=None):
        """Record that officers engaged the person (only after a true-match judgement), and what they perceived."""
        body = PersonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = alert_handling.engage(request.user, self.get_object(), **body.validated_data)
        return Response(self.get_serializer(alert).data)

    @extend_schema(request=AlertOutcomeSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        """Record the stop: how identity was checked, how long it lasted, what followed, any complaint."""
        body = AlertOutcomeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(
            self.get_serializer(
                alert_handling.record_alert_outcome(request.user, self.get_object(), **body.validated_data)
            ).data
        )

    @extend_schema(request=ComplaintSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def complaint(self, request, pk=None):
        """Record a complaint made about the stop."""
        body = ComplaintSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = alert_handling.record_complaint(request.user, self.get_object(), **body.validated_data)
        return Response(self.get_serializer(alert).data)


class SearchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Retrospective searches: status for whoever submitted; candidates only for officers, with a reason."""

    queryset = SearchRequest.objects.prefetch_related("probes")
    serializer_class = SearchStatusSerializer
    answers_too_many = True  # a retail partner's searches a day and at once (429)
    parser_classes = [parsers.MultiPartParser, parsers.JSONParser]

    @extend_schema(request={"multipart/form-data": SearchUploadSerializer}, responses={201: SearchStatusSerializer})
    def create(self, request):
        """Submit stills (multipart `stills`, one file each) with the incident reference and crime type."""
        body = SearchSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        stills = [upload.read() for upload in request.FILES.getlist("stills")]
        search = retrospective.submit(request.user, stills, **body.validated_data)
        return Response(self.get_serializer(search).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("reason", str, required=True)], responses=ProbeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # every still of the search, never paged
    def probes(self, request, pk=None):
        """The stills' candidate lists (officers and privacy officers only), logged with your reason."""
        search = self.get_object()
        if not policy.may(request.user, "matching.view_probe"):
            raise exceptions.PermissionDenied("Candidates are for trained police operators only.")
        reason = stated_reason(request)
        return Response(ProbeSerializer(selectors.candidates(request.user, search, reason), many=True).data)

    @extend_schema(request=CloseSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close the case, with the reason: the stills are deleted, with receipts, and show as deleted."""
        body = CloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        search = retrospective.close(request.user, self.get_object(), **body.validated_data)
        return Response(self.get_serializer(search).data)


class ProbeViewSet(RestrictedViewSet):
    """One still's review: the operator's choice and the investigating officer's confirmation."""

    queryset = Probe.objects.all()
    serializer_class = ProbeSerializer

    @extend_schema(request=ChoiceSerializer, responses=ProbeSerializer)
    @action(detail=True, methods=["post"])
    def choose(self, request, pk=None):
        """The operator chooses a candidate (or none), with a note."""
        body = ChoiceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        probe = retrospective.choose(
            request.user, self.get_object(), subject_id=body.validated_data["subject"], note=body.validated_data["note"]
        )
        return Response(ProbeSerializer(probe).data)

    @extend_schema(request=ConfirmSerializer, responses=ProbeSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """A different, investigating officer confirms with the corroboration."""
        body = ConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(
            ProbeSerializer(retrospective.confirm(request.user, self.get_object(), **body.validated_data)).data
        )


class ReenrolView(StrictQueryMixin, APIView):
    """Re-enrol an approved list on the engine in use (authorising officers; other roles 403, OPTIONS too)."""

    permission_classes = [permissions.IsAuthenticated, PolicyPermission]
    policy_action = "matching.reenrol_watchlist"

    @extend_schema(request=ReenrolSerializer, responses=ReenrolResultSerializer)
    def post(self, request, pk):
        """Enrol the list's approved version on the engine in use from its stored images, with the reason (logged):
        400 when an image fails the new engine's quality gate (the list stays as it was), 409 when no version is in
        force."""
        watchlist = Watchlist.objects.restrict(request.user, "view").filter(pk=pk).first()
        if watchlist is None:
            raise exceptions.NotFound()
        body = ReenrolSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = enrolment.reenrol(request.user, watchlist, **body.validated_data)
        data = {"watchlist": watchlist.pk, "approved_hash": watchlist.approved_hash, "templates": result.enrolled}
        return Response(ReenrolResultSerializer(data).data)
