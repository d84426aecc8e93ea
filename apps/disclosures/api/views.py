"""The disclosures API: lists without names; a case's detail only with a reason, logged; every write a service."""

from django.db.models import F
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.access import stated_reason
from apps.matching.models import Alert
from govern import policy
from govern.api.viewsets import RestrictedViewSet, StrictQueryMixin

from .. import selectors, services, statistics
from ..filtersets import CaseFilterSet
from ..models import DisclosureCase, Extension
from . import serializers


class UnitPermission(BasePermission):
    """Only the public protection unit and privacy officers reach these endpoints; others get 403 with the reason."""

    action = "disclosures.view_disclosurecase"

    def has_permission(self, request, view):
        reason = policy.refusal(request.user, getattr(view, "policy_action", self.action))
        if reason is not None:
            self.message = reason
        return reason is None


class CaseViewSet(mixins.ListModelMixin, RestrictedViewSet):
    """Sarah's Law cases: the list by next deadline; the detail with ?reason= or X-Access-Reason; each step."""

    queryset = DisclosureCase.objects.select_related("officer_in_charge")
    serializer_class = serializers.CaseSummarySerializer
    filterset_class = CaseFilterSet
    permission_classes = [IsAuthenticated, UnitPermission]

    def get_queryset(self):
        ordered = super().get_queryset().with_clocks().order_by(F("next_due").asc(nulls_last=True), "id")
        if self.action == "retrieve":
            return ordered.prefetch_related("children", "checks", "decisions", "extensions", "letters")
        return ordered

    def get_serializer_class(self):
        return serializers.CaseSerializer if self.action == "retrieve" else serializers.CaseSummarySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("reason", str, description="Why you consult this case (or the X-Access-Reason header)."),
            OpenApiParameter("X-Access-Reason", str, OpenApiParameter.HEADER),
        ],
        responses=serializers.CaseSerializer,
    )
    def retrieve(self, request, *args, **kwargs):
        """The whole case, personal data included: the reason is required and the read is logged (s.62)."""
        reason = stated_reason(request)
        return Response(self.get_serializer(selectors.case(request.user, self.get_object(), reason)).data)

    def _answer(self, case, code=status.HTTP_200_OK):
        case = DisclosureCase.objects.get(pk=case.pk)
        return Response(serializers.CaseSummarySerializer(case).data, status=code)

    def _step(self, request, body_class, service):
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        case = self.get_object()
        service(request.user, case, **body.validated_data)
        return self._answer(case)

    @extend_schema(request=serializers.OpenCaseSerializer, responses={201: serializers.CaseSummarySerializer})
    def create(self, request):
        """Open a case at first contact (the clocks start at contact_at)."""
        body = serializers.OpenCaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        case = services.open_case(request.user, **body.validated_data)
        return self._answer(case, status.HTTP_201_CREATED)

    @extend_schema(request=serializers.FromAlertSerializer, responses={201: serializers.CaseSummarySerializer})
    @action(detail=False, methods=["post"], url_path="from-alert")
    def from_alert(self, request):
        """Right to be told: open a case from an adjudicated alert on a registered sex offender."""
        body = serializers.FromAlertSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = get_object_or_404(Alert.objects.restrict(request.user, "view"), pk=body.validated_data["alert"])
        return self._answer(services.open_from_alert(request.user, alert), status.HTTP_201_CREATED)

    @extend_schema(request=serializers.ChildInputSerializer, responses=serializers.CaseSummarySerializer)
    @action(detail=True, methods=["post"])
    def children(self, request, pk=None):
        """Record another child."""
        return self._step(request, serializers.ChildInputSerializer, services.add_child)

    @extend_schema(request=serializers.CheckInputSerializer, responses=serializers.CaseSummarySerializer)
    @action(detail=True, methods=["post"])
    def checks(self, request, pk=None):
        """Record a check made."""
        return self._step(request, serializers.CheckInputSerializer, services.record_check)

    @extend_schema(request=None, responses=serializers.CaseSummarySerializer)
    @action(detail=True, methods=["post"], url_path="complete-checks")
    def complete_checks(self, request, pk=None):
        """Close the checks stage."""
        case = self.get_object()
        return self._answer(services.complete_checks(request.user, case))

    @extend_schema(request=serializers.MeetingSerializer, responses=serializers.CaseSummarySerializer)
    @action(detail=True, methods=["post"])
    def meeting(self, request, pk=None):
        """Record the face-to-face meeting."""
        return self._step(request, serializers.MeetingSerializer, services.record_meeting)

    @extend_schema(request=serializers.RiskAssessmentSerializer, responses=serializers.CaseSummarySerializer)
    @action(detail=True, methods=["post"], url_path="risk-assessment")
    def risk_assessment(self, request, pk=None):
        """Record the risk assessment."""
        return self._step(request, serializers.RiskAssessmentSerializer, services.record_risk_assessment)

    @extend_schema(request=serializers.ForumDecisionInputSerializer, responses=serializers.CaseSummarySerializer)
    @action(detail=True, methods=["post"], url_path="forum-decision")
    def forum_decision(self, request, pk=None):
        """Record the forum's decision."""
        return self._step(request, serializers.ForumDecisionInputSerializer, services.record_forum_decision)

    @extend_schema(request=serializers.UndertakingSerializer, responses=serializers.CaseSummarySerializer)
    @action(detail=True, methods=["post"])
    def undertaking(self, request, pk=None):
        """Record the legal warning and the undertaking (a refusal returns the case to the forum)."""
        return self._step(request, serializers.UndertakingSerializer, services.record_undertaking)

    @extend_schema(request=serializers.DisclosureInputSerializer, responses=serializers.CaseSummarySerializer)
    @action(detail=True, methods=["post"])
    def disclosure(self, request, pk=None):
        """Record the disclosure made in person."""
        return self._step(request, serializers.DisclosureInputSerializer, services.record_disclosure)

    @extend_schema(request=None, responses=serializers.CaseSummarySerializer)
    @action(detail=True, methods=["post"])
    def letter(self, request, pk=None):
        """Issue the outcome or non-disclosure letter; the case is completed and locked."""
        case = self.get_object()
        services.issue_letter(request.user, case)
        return self._answer(case)

    @extend_schema(request=serializers.ExtensionRequestSerializer, responses={201: serializers.ExtensionSerializer})
    @action(detail=True, methods=["post"])
    def extensions(self, request, pk=None):
        """Ask a supervisor for more time on the 45-day clock."""
        body = serializers.ExtensionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        extension = services.request_extension(request.user, self.get_object(), **body.validated_data)
        return Response(serializers.ExtensionSerializer(extension).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.ExtensionDecisionSerializer, responses=serializers.ExtensionSerializer)
    @action(detail=True, methods=["post"], url_path=r"extensions/(?P<extension_id>\d+)/decide")
    def decide_extension(self, request, pk=None, extension_id=None):
        """A supervisor approves or refuses an extension."""
        body = serializers.ExtensionDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        extension = get_object_or_404(Extension, pk=extension_id, case=self.get_object())
        decided = services.decide_extension(request.user, extension, **body.validated_data)
        return Response(serializers.ExtensionSerializer(decided).data)


class StatisticsView(StrictQueryMixin, APIView):
    """The force's figures: counts only, no names."""

    permission_classes = [IsAuthenticated, UnitPermission]
    policy_action = "disclosures.view_statistics"

    @extend_schema(responses=serializers.StatisticsSerializer)
    def get(self, request):
        """Applications, disclosures, non-disclosures, average days to complete, overdue cases."""
        return Response(statistics.figures())
