"""The requests desk's API: the list without the requester's details; a request's detail and the access response
pack only with a reason, logged; every write a service. Privacy officers work the desk; an officer may only log."""

from django.db.models import F
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.audit.access import stated_reason
from govern import policy
from govern.api.viewsets import RestrictedViewSet

from .. import selectors, services
from ..filtersets import RequestFilterSet
from ..models import RightsRequest
from . import serializers

REASON_PARAMETERS = [
    OpenApiParameter("reason", str, description="Why you consult this request (or the X-Access-Reason header)."),
    OpenApiParameter("X-Access-Reason", str, OpenApiParameter.HEADER),
]


class RequestViewSet(mixins.ListModelMixin, RestrictedViewSet):
    """Data-subject requests: the desk by due date; the detail with a reason; each step of the request."""

    queryset = RightsRequest.objects.select_related("subject")
    serializer_class = serializers.RightsRequestSummarySerializer
    filterset_class = RequestFilterSet
    action_rules = {"decide": "rights.decide_rightsrequest"}

    def check_permissions(self, request):
        if self.action == "create":  # an officer logs a request at the counter and sees nothing on the desk
            reason = policy.refusal(request.user, "rights.add_rightsrequest")
            if reason is not None:
                self.permission_denied(request, message=reason)
            return
        super().check_permissions(request)

    def get_queryset(self):
        return super().get_queryset().with_clocks().order_by(F("is_overdue").desc(), "due_at", "id")

    def _answer(self, request_row, code=status.HTTP_200_OK):
        fresh = RightsRequest.objects.select_related("subject").get(pk=request_row.pk)
        return Response(serializers.RightsRequestSummarySerializer(fresh).data, status=code)

    def _step(self, request, body_class, service):
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        row = self.get_object()
        service(request.user, row, **body.validated_data)
        return self._answer(row)

    @extend_schema(parameters=REASON_PARAMETERS, responses=serializers.RightsRequestSerializer)
    def retrieve(self, request, *args, **kwargs):
        """The whole request, the requester's details included: the reason is required and the read logged."""
        reason = stated_reason(request)
        return Response(
            serializers.RightsRequestSerializer(selectors.request(request.user, self.get_object(), reason)).data
        )

    @extend_schema(
        request=serializers.LogRightsRequestSerializer, responses={201: serializers.RightsRequestSummarySerializer}
    )
    def create(self, request):
        """Log a request as it arrived; its month runs from received_at."""
        body = serializers.LogRightsRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(services.log_request(request.user, **body.validated_data), status.HTTP_201_CREATED)

    @extend_schema(request=serializers.SubjectLinkSerializer, responses=serializers.SubjectLinkAnswerSerializer)
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None):
        """Find the person's record by PNC ID, or name and date of birth (a logged consultation); linked when exactly
        one person matches."""
        body = serializers.SubjectLinkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        found = services.link_subject(request.user, self.get_object(), **body.validated_data)
        answer = serializers.RightsRequestSummarySerializer(RightsRequest.objects.get(pk=found.request.pk)).data
        return Response({**answer, "matches": found.matches})

    @extend_schema(request=serializers.IdentityCheckSerializer, responses=serializers.RightsRequestSummarySerializer)
    @action(detail=True, methods=["post"])
    def identity(self, request, pk=None):
        """Record the identity check: who (you), how and what was seen."""
        return self._step(request, serializers.IdentityCheckSerializer, services.check_identity)

    @extend_schema(request=serializers.RightsExtensionSerializer, responses=serializers.RightsRequestSummarySerializer)
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        """Extend the time limit of a complex request, with the reason."""
        return self._step(request, serializers.RightsExtensionSerializer, services.extend)

    @extend_schema(request=serializers.RightsDecisionSerializer, responses=serializers.RightsRequestSummarySerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """Grant or refuse (a privacy officer who did not log it); a granted restriction takes effect at once."""
        return self._step(request, serializers.RightsDecisionSerializer, services.decide)

    @extend_schema(request=serializers.RightsResponseSerializer, responses=serializers.RightsRequestSummarySerializer)
    @action(detail=True, methods=["post"])
    def respond(self, request, pk=None):
        """Record the response sent; the request closes."""
        return self._step(request, serializers.RightsResponseSerializer, services.respond)

    @extend_schema(request=serializers.RestrictionLiftSerializer, responses=serializers.RightsRequestSummarySerializer)
    @action(detail=True, methods=["post"], url_path="lift-restriction")
    def lift_restriction(self, request, pk=None):
        """Lift the restriction this request imposed."""
        return self._step(request, serializers.RestrictionLiftSerializer, services.lift_restriction)

    @extend_schema(
        parameters=REASON_PARAMETERS,
        responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The response pack.")},
    )
    @action(detail=True, methods=["get"])
    def pack(self, request, pk=None):
        """An access request's response pack (a zip), once granted: a logged disclosure."""
        reason = stated_reason(request)
        row = self.get_object()
        built = selectors.response_pack(request.user, row, reason)
        answer = HttpResponse(built.content, content_type="application/zip")
        answer["Content-Disposition"] = f'attachment; filename="{row.reference}-response.zip"'
        return answer
