"""Oversight API: ledgers, purges, retention and the sweep, governed changes, notifications, the access log,
equality figures and evidence bundles. Reads for privacy officers and overseers; writes as the policy says."""

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, parsers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.access import stated_reason
from apps.deployments.models import Deployment
from apps.matching import selectors as matching_selectors
from apps.matching.models import Alert
from govern import policy
from govern.api.pagination import PAGE_PARAMETERS, Pagination, paginated
from govern.api.permissions import PolicyPermission
from govern.api.viewsets import RestrictedViewSet, StrictQueryMixin, boolean_parameter
from govern.errors import Conflict

from .. import access_review, bundles, court, equality, reconciliation, services
from ..filtersets import AccessFilterSet
from ..models import GovernedChange, Notification, RetentionPolicy
from .serializers import (
    AccessEventSerializer,
    DecisionSerializer,
    DeletionEvidenceSerializer,
    EqualityMonthSerializer,
    EqualityVersionSerializer,
    GovernedChangeSerializer,
    LedgerSerializer,
    MisidentificationSerializer,
    NotificationSerializer,
    ProposeSerializer,
    PurgeSerializer,
    RetentionPolicySerializer,
    RetentionReviewSerializer,
    RetentionStatusSerializer,
    ReviewRetentionSerializer,
    SetRetentionSerializer,
    SweepItemSerializer,
    WithdrawalSerializer,
)


class _PolicyView(StrictQueryMixin, APIView):
    permission_classes = [PolicyPermission]
    policy_action = "oversight.view_dashboard"


class LedgerView(_PolicyView):
    """Deletion reconciliation: for each deployment, faces = alerts + receipts."""

    @extend_schema(parameters=PAGE_PARAMETERS, responses=paginated("PaginatedLedgerList", LedgerSerializer(many=True)))
    def get(self, request):
        """The ledgers, a page at a time, newest deployment first."""
        pages = Pagination()
        shown = pages.paginate_queryset(Deployment.objects.order_by("-start", "-pk"), request, view=self)
        rows = reconciliation.ledgers(Deployment.objects.filter(pk__in=[deployment.pk for deployment in shown]))
        return pages.get_paginated_response(LedgerSerializer(rows, many=True).data)


class PurgeView(_PolicyView):
    """Each ended watchlist's purge status."""

    @extend_schema(responses=PurgeSerializer(many=True))
    def get(self, request):
        return Response(PurgeSerializer(reconciliation.purge_statuses(), many=True).data)


class DeletionEvidenceView(_PolicyView):
    """Each kind of biometric's deletion evidence: the exact-search absence checks and the VACUUMs."""

    @extend_schema(responses=DeletionEvidenceSerializer(many=True))
    def get(self, request):
        return Response(DeletionEvidenceSerializer(reconciliation.evidence_statuses(), many=True).data)


class EqualityView(_PolicyView):
    """Adjudicated alerts by the person each concerned, as officers perceived them, per engine and threshold; per
    month too. Counts of 1 to 4 are null (suppressed), rates over fewer than 10 alerts null."""

    @extend_schema(
        responses=inline_serializer(
            "Equality",
            {
                "versions": EqualityVersionSerializer(many=True),
                "monthly": EqualityMonthSerializer(many=True),
            },
        )
    )
    def get(self, request):
        found = equality.versions()
        monthly = [
            {**row, "dimension": dimension}
            for dimension in equality.DIMENSIONS
            for row in equality.monthly(dimension, found=found)
        ]
        return Response(
            {
                "versions": EqualityVersionSerializer(found, many=True).data,
                "monthly": EqualityMonthSerializer(monthly, many=True).data,
            }
        )


class RetentionViewSet(RestrictedViewSet):
    """Retention policies and status; privacy officers set them and run the sweep."""

    queryset = RetentionPolicy.objects.select_related("changed_by")
    serializer_class = RetentionPolicySerializer
    pagination_class = None  # the list is one row per data class, never paged (and the schema must say so)
    extra_query_parameters = frozenset({"dry_run"})
    action_rules = {
        "set_policy": "oversight.change_retentionpolicy",
        "review": "oversight.review_retentionpolicy",
        "sweep": "oversight.run_sweep",
    }

    @extend_schema(responses=RetentionStatusSerializer(many=True))
    def list(self, request):
        """Every data class: its period, how many items are past it, and the evidential holds."""
        self.get_queryset()  # the view rule applies

        policy.require(request.user, "oversight.view_retentionpolicy")
        return Response(RetentionStatusSerializer(reconciliation.retention_statuses(), many=True).data)

    @extend_schema(request=SetRetentionSerializer, responses=RetentionPolicySerializer)
    @action(detail=False, methods=["post"], url_path="set")
    def set_policy(self, request):
        """Set one data class's period, with the reason."""
        body = SetRetentionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        found = services.set_retention(request.user, body.validated_data.pop("data_class"), **body.validated_data)
        return Response(RetentionPolicySerializer(found).data)

    @extend_schema(request=ReviewRetentionSerializer, responses={201: RetentionReviewSerializer})
    @action(detail=False, methods=["post"])
    def review(self, request):
        """Record a review of one data class's period, with the next review date."""
        body = ReviewRetentionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        found = services.review_retention(request.user, body.validated_data.pop("data_class"), **body.validated_data)
        return Response(RetentionReviewSerializer(found).data, status=201)

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("dry_run", bool)],
        responses=SweepItemSerializer(many=True),
    )
    @action(detail=False, methods=["post"])
    def sweep(self, request):
        """Run the sweep now (?dry_run=true lists what is due)."""

        policy.require(request.user, "oversight.run_sweep")
        dry_run = boolean_parameter(request, "dry_run")
        return Response(SweepItemSerializer(services.retention_sweep(dry_run=dry_run), many=True).data)


class GovernedChangeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Threshold and engine changes: proposed by an authorising officer, countersigned by a privacy officer."""

    queryset = GovernedChange.objects.select_related("proposed_by", "decided_by").defer("evidence")
    serializer_class = GovernedChangeSerializer
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]  # proposals carry a report
    action_rules = {
        "create": "oversight.propose_governedchange",
        "countersign": "oversight.countersign_governedchange",
        "reject": "oversight.countersign_governedchange",
        "withdraw": "oversight.withdraw_governedchange",
    }

    @extend_schema(request={"multipart/form-data": ProposeSerializer}, responses={201: GovernedChangeSerializer})
    def create(self, request):
        """Propose a threshold, or approval of the engine in use, citing an evaluation of the engine in force."""
        body = ProposeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        change = services.propose(
            request.user,
            data["kind"],
            threshold=data.get("threshold"),
            reason=data["reason"],
            equality_evidence=data["equality_evidence"],
            evaluation=data["evaluation"],
            evidence=data.get("evidence"),
        )
        return Response(GovernedChangeSerializer(change).data, status=201)

    @extend_schema(request=DecisionSerializer, responses=GovernedChangeSerializer)
    @action(detail=True, methods=["post"])
    def countersign(self, request, pk=None):
        """Countersign: the change comes into force."""
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        change = services.countersign(request.user, self.get_object(), note=body.validated_data["note"])
        return Response(GovernedChangeSerializer(change).data)

    @extend_schema(request=DecisionSerializer, responses=GovernedChangeSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Decline to countersign, saying why."""
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        change = services.reject(request.user, self.get_object(), note=body.validated_data["note"])
        return Response(GovernedChangeSerializer(change).data)

    @extend_schema(request=WithdrawalSerializer, responses=GovernedChangeSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Withdraw a threshold or engine in force, saying why (an authorising or privacy officer): every deployment
        that uses it is stopped, the withdrawal as the reason, and runs again only once authorised anew."""
        body = WithdrawalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        change = services.withdraw(request.user, self.get_object(), reason=body.validated_data["reason"])
        return Response(GovernedChangeSerializer(change).data)


class NotificationViewSet(mixins.ListModelMixin, RestrictedViewSet):
    """Open and resolved findings raised to the privacy officers."""

    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer


ACCESS_PARAMETERS = ["person", "record", "actor", "start", "end", "reason", "flagged_only", "export"]
ACCESS_DESCRIPTIONS = {
    "person": "A person by name, PNC ID or subject number (a name or PNC ID lookup is itself logged)",
    "record": "A record as type:id, e.g. matching.alert:12",
    "start": "ISO 8601", "end": "ISO 8601", "flagged_only": "true: only the reads flagged for review",
}  # fmt: skip


class AccessLogView(_PolicyView):
    """Consultations and disclosures, searchable, flagged; ?export=csv downloads them (and is logged)."""

    policy_action = "oversight.view_accesslog"
    extra_query_parameters = frozenset(ACCESS_PARAMETERS)

    @extend_schema(
        parameters=[
            OpenApiParameter(name, str, description=ACCESS_DESCRIPTIONS.get(name, ""))
            for name in ACCESS_PARAMETERS[:-1]
        ]
        + [OpenApiParameter("export", str, enum=["csv"], description="csv: download, every row (the export is logged)")]
        + PAGE_PARAMETERS,
        responses={
            (200, "application/json"): paginated("PaginatedAccessEventList", AccessEventSerializer(many=True)),
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request):
        if request.query_params.get("export", "csv") != "csv":
            raise exceptions.ValidationError({"export": "The one export is csv; leave export out for JSON."})
        # The page's FilterSet, so the API finds a person by name or PNC ID as the page does (the lookup logged).
        filterset = AccessFilterSet(request.query_params)
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        if filterset.person_words():
            filterset.people = access_review.find_people(request.user, filterset.person_words())
        chosen = filterset.chosen
        if request.query_params.get("export") == "csv":
            count, rows = access_review.exported(chosen)
            services.log_access_export(request.user, chosen, count, "csv")
            return StreamingHttpResponse(access_review.csv_export(rows), content_type="text/csv")
        # The flagged rows are found in SQL (`search`), so the database pages them as the page does; then only the
        # page's rows are flagged in Python, against the same heavy readers.
        pages = Pagination()
        heavy = access_review.heavy_readers(chosen.start, chosen.end)
        events = pages.paginate_queryset(access_review.search(chosen, heavy).defer("canonical"), request, view=self)
        shown = access_review.flag(events, chosen, heavy)
        return pages.get_paginated_response(AccessEventSerializer(shown, many=True).data)


class MisidentificationView(_PolicyView):
    """Alerts found false, at judgement or after the stop, newest first, with their stop records: the privacy
    officers' review. A consultation: give the reason; the ids returned are logged."""

    policy_action = "oversight.review_misidentifications"

    @extend_schema(
        parameters=[OpenApiParameter("reason", str, required=True), *PAGE_PARAMETERS],
        responses=paginated("PaginatedMisidentificationList", MisidentificationSerializer(many=True)),
    )
    def get(self, request):
        reason = stated_reason(request)
        pages = Pagination()
        shown = matching_selectors.misidentifications(
            request.user,
            reason,
            take=lambda found: pages.paginate_queryset(found.order_by("-created_at", "-pk"), request, view=self),
        )
        return pages.get_paginated_response(MisidentificationSerializer(shown, many=True).data)


class CourtExportView(_PolicyView):
    """One alert's court evidence export (zip): its images, events with their proofs, and the decisions it ran under;
    checked offline with verify_bundle.py. Needs a reason; the export is logged."""

    policy_action = "oversight.export_court_evidence"

    @extend_schema(
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="The alert's id."),
            OpenApiParameter("reason", str, required=True),
        ],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request, pk):
        reason = stated_reason(request)
        alert = get_object_or_404(Alert.objects.restrict(request.user, "view"), pk=pk)
        try:
            content, _ = court.build(request.user, alert, reason)
        except bundles.BundleError as exc:
            raise Conflict(str(exc)) from exc
        response = HttpResponse(content, content_type="application/zip")
        response["Content-Disposition"] = content_disposition_header(True, court.filename(alert))
        return response


class BundleView(_PolicyView):
    """A deployment's evidence bundle (zip), for checking offline with verify_bundle.py."""

    policy_action = "oversight.export_bundle"

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The deployment's id.")],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request, pk):
        scope = bundles.Scope(deployment=get_object_or_404(Deployment, pk=pk))
        try:
            content, _ = bundles.build(request.user, scope)
        except bundles.BundleError as exc:
            raise exceptions.ValidationError({"detail": str(exc)}) from exc
        response = HttpResponse(content, content_type="application/zip")
        response["Content-Disposition"] = content_disposition_header(True, scope.filename())
        return response
