"""The deployments API: every write calls a service; the public endpoint shows only published fields."""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from govern.api.viewsets import RestrictedViewSet, RevisionMixin, StrictQueryMixin, if_match

from .. import publication, services
from ..filtersets import DeploymentFilterSet
from ..models import Asset, Deployment, PolicyDocument
from . import serializers


class AssetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Vans and cameras."""

    queryset = Asset.objects.all()
    serializer_class = serializers.AssetSerializer
    action_rules = {"create": "deployments.add_asset", "retire": "deployments.retire_asset"}

    def create(self, request):
        """Register a van or camera."""
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        asset = services.register_asset(request.user, **body.validated_data)
        return Response(self.get_serializer(asset).data, status=status.HTTP_201_CREATED)

    # --- Retirement (issue 23) ---
    @extend_schema(request=serializers.ReasonSerializer, responses=serializers.AssetSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None):
        """Retire a van or camera, with the reason: it is booked no more and its camera credentials are revoked; one
        still booked on a deployment that has not ended is refused (409)."""
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        asset = services.retire_asset(request.user, self.get_object(), **body.validated_data)
        return Response(self.get_serializer(asset).data)


class PolicyDocumentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Versions of the DPIA, EIA and appropriate policy document."""

    queryset = PolicyDocument.objects.all()
    serializer_class = serializers.PolicyDocumentSerializer
    action_rules = {"create": "deployments.add_policydocument", "approve": "deployments.approve_policydocument"}

    def create(self, request):
        """Record a new version (unapproved)."""
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        document = services.record_document(request.user, **body.validated_data)
        return Response(self.get_serializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve this version."""
        return Response(self.get_serializer(services.approve_document(request.user, self.get_object())).data)


class DeploymentViewSet(RevisionMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Deployments, their gate and their transitions."""

    queryset = Deployment.objects.select_related("watchlist").prefetch_related("assets", "documents", "team")
    serializer_class = serializers.DeploymentSerializer
    filterset_class = DeploymentFilterSet
    action_rules = {
        "create": "deployments.add_deployment",
        "partial_update": "deployments.change_deployment",
        "authorise": "deployments.authorise_deployment",
        "team": "deployments.change_team",
        "notice": "deployments.change_deployment",
        "exempt_notice": "deployments.exempt_notice",
        "checklist": "deployments.run_deployment",
        "go_live": "deployments.go_live",
        "end_early": "deployments.end_deployment",
        "suspend": "deployments.command_deployment",
        "resume": "deployments.command_deployment",
        "cancel": "deployments.command_deployment",
        "emergency_stop": "deployments.emergency_stop",
        "emergency_stop_all": "deployments.emergency_stop",
    }

    def _respond(self, deployment, code=status.HTTP_200_OK):
        deployment.refresh_from_db()
        headers = self.revision_headers(deployment)
        return Response(self.get_serializer(deployment).data, status=code, headers=headers)

    def retrieve(self, request, pk=None):
        """A deployment's plan; the ETag names its revision, which an authorisation must send back (If-Match)."""
        return self._respond(self.get_object())

    def create(self, request):
        """Plan a deployment."""
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(services.plan(request.user, **body.validated_data), status.HTTP_201_CREATED)

    @extend_schema(request=serializers.DeploymentUpdateSerializer, parameters=[if_match("deployment")])
    def partial_update(self, request, pk=None):
        """Change the plan (an authorised one goes back to planned, the reason logged); a new revision."""
        body = serializers.DeploymentUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        revision = self.expected_revision(request)
        deployment = services.update_plan(
            request.user, self.get_object(), expected_revision=revision, **body.validated_data
        )
        return self._respond(deployment)

    @extend_schema(request=None, parameters=[if_match("deployment", required=True)])
    @action(detail=True, methods=["post"])
    def authorise(self, request, pk=None):
        """Authorise the plan at the revision you reviewed (If-Match, required), bound to the watchlist's approved
        version; a plan changed since is refused with 412, saying what changed."""
        deployment = self.get_object()
        revision = self.expected_revision(request, required=True)
        return self._respond(services.authorise(request.user, deployment, revision=revision))

    @extend_schema(request=serializers.TeamSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def team(self, request, pk=None):
        """Set the officers who work the deployment (they alone, with commanders, see its alerts)."""
        body = serializers.TeamSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(services.set_team(request.user, self.get_object(), **body.validated_data))

    @extend_schema(request=serializers.NoticeSerializer)
    @action(detail=True, methods=["post"])
    def notice(self, request, pk=None):
        """Record the advance public notice."""
        body = serializers.NoticeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(services.publish_notice(request.user, self.get_object(), **body.validated_data))

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"], url_path="exempt-notice")
    def exempt_notice(self, request, pk=None):
        """Exempt from advance notice, with the reason (authorising officer)."""
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(services.exempt_notice(request.user, self.get_object(), **body.validated_data))

    @extend_schema(request=serializers.ChecklistSerializer)
    @action(detail=True, methods=["post"])
    def checklist(self, request, pk=None):
        """Tick the on-site checklist."""
        body = serializers.ChecklistSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(services.update_checklist(request.user, self.get_object(), **body.validated_data))

    @extend_schema(request=None)
    @action(detail=True, methods=["post"], url_path="go-live")
    def go_live(self, request, pk=None):
        """Go live now if the gate passes (an officer of its team or an authorising officer); otherwise 409 with the
        failing conditions."""
        went, conditions = services.try_go_live(self.get_object(), actor=request.user)
        if not went:
            failing = [c.detail for c in conditions if not c.ok]
            return Response({"detail": "The gate does not pass.", "failing": failing}, status=status.HTTP_409_CONFLICT)
        return self._respond(self.get_object())

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"], url_path="end-early")
    def end_early(self, request, pk=None):
        """End a live (or suspended) deployment before its planned end, with the reason; its list's purge starts."""
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(services.end_early(request.user, self.get_object(), **body.validated_data))

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        """Suspend a live deployment."""
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(services.suspend(request.user, self.get_object(), **body.validated_data))

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Resume a suspended deployment if the gate still passes."""
        return self._respond(services.resume(request.user, self.get_object()))

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a deployment, with the reason."""
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(services.cancel(request.user, self.get_object(), **body.validated_data))

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"], url_path="emergency-stop")
    def emergency_stop(self, request, pk=None):
        """Stop this authorised, live or suspended deployment now, with the reason (a commander or privacy officer):
        its cameras' next frame is refused, and it runs again only once authorised anew; 409 if nothing of it runs."""
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(services.emergency_stop(request.user, body.validated_data["reason"], self.get_object())[0])

    @extend_schema(request=serializers.ReasonSerializer, responses=serializers.StoppedSerializer)
    @action(detail=False, methods=["post"], url_path="emergency-stop")
    def emergency_stop_all(self, request):
        """Stop every authorised, live or suspended deployment of the force now, in one action, with the reason (a
        commander or privacy officer); the answer lists the references stopped (none: nothing ran)."""
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        stopped = services.emergency_stop(request.user, body.validated_data["reason"])
        return Response(serializers.StoppedSerializer({"stopped": [each.reference for each in stopped]}).data)

    @extend_schema(responses=serializers.DeploymentFiguresSerializer)
    @action(detail=True, methods=["get"])
    def outcome(self, request, pk=None):
        """The deployment's published figures, counted from the capture ledger and the judged alerts; nobody types
        them (engagements, arrests and other outcomes are recorded on each alert)."""
        deployment = self.get_object()
        outcome = getattr(deployment, "figures", None)
        return Response(serializers.DeploymentFiguresSerializer(outcome).data if outcome else {})


class PublishedDeploymentsView(StrictQueryMixin, APIView):
    """Completed deployments as the public sees them: no login, nothing that identifies a person."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    extra_query_parameters = frozenset({"format"})

    @extend_schema(responses=serializers.PublishedRecordSerializer)
    def get(self, request):
        rows = publication.published_deployments()
        if request.query_params.get("format") == "csv":
            response = HttpResponse(publication.as_csv(rows), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="lfr-deployments.csv"'
            return response
        return Response({"deployments": rows, "yearly_totals": publication.yearly_totals(rows)})
