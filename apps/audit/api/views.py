"""The read-only audit log API: events, checkpoints, proofs and the public key."""

import hashlib

from django.core.cache import cache
from django.db import connection
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, permissions
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from govern.api.permissions import PolicyPermission
from govern.api.viewsets import RestrictedReadOnlyViewSet, StrictQueryMixin

from .. import proofs, signing, verifier
from ..models import Checkpoint, Event
from . import serializers
from .filtersets import EventApiFilterSet


def _proof_or_400(fn, *args):
    try:
        return fn(*args)
    except proofs.ProofError as exc:
        raise exceptions.ValidationError({"detail": str(exc)}) from exc


# The log's positions are whole numbers, in the path as in the bodies.
SEQ = OpenApiParameter("seq", int, OpenApiParameter.PATH, description="The event's position in the log, from 0.")
TREE_SIZE = OpenApiParameter("tree_size", int, OpenApiParameter.PATH, description="The checkpoint's tree size.")


@extend_schema_view(retrieve=extend_schema(parameters=[SEQ]))
class EventViewSet(RestrictedReadOnlyViewSet):
    """Audit events, oldest first; privacy officers and oversight see all, administrators account events."""

    queryset = Event.objects.all()
    serializer_class = serializers.EventSerializer
    filterset_class = EventApiFilterSet
    lookup_field = "seq"
    lookup_value_regex = r"\d+"
    extra_query_parameters = frozenset({"tree_size"})

    @extend_schema(
        parameters=[SEQ, OpenApiParameter("tree_size", int, description="Defaults to the latest checkpoint's size.")],
        responses=serializers.InclusionProofSerializer,
    )
    @action(detail=True, methods=["get"])
    def proof(self, request, seq=None):
        """The inclusion proof of this event in a tree of `tree_size` events."""
        event = self.get_object()
        query = serializers.ProofQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        proof = _proof_or_400(proofs.inclusion, event.seq, query.validated_data.get("tree_size"))
        return Response(serializers.InclusionProofSerializer(proof).data)


CHECKPOINT_CACHE_SECONDS = 600  # a page no longer asked for leaves the cache; never needed for freshness


@extend_schema_view(retrieve=extend_schema(parameters=[TREE_SIZE]))
class CheckpointViewSet(RestrictedReadOnlyViewSet):
    """Signed checkpoints, by tree size."""

    queryset = Checkpoint.objects.prefetch_related("cosignatures")
    serializer_class = serializers.CheckpointSerializer
    lookup_field = "tree_size"
    lookup_value_regex = r"\d+"

    def list(self, request, *args, **kwargs):
        """Signed checkpoints, a page at a time. Checkpoints and their cosignatures are only ever added (the database
        refuses a change), so the newest ids of both say what every page holds: a page is served from the cache until
        another checkpoint is signed or another cosignature arrives."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT (SELECT max(id) FROM audit_checkpoint), (SELECT max(id) FROM audit_cosignature)")
            newest, cosigned = cursor.fetchone()
        page_url = f"{newest}|{cosigned}|{request.build_absolute_uri()}"
        key = "govern:checkpoints:" + hashlib.sha256(page_url.encode()).hexdigest()  # a key any cache backend takes
        page = cache.get(key)
        if page is None:
            page = super().list(request, *args, **kwargs).data
            cache.set(key, page, CHECKPOINT_CACHE_SECONDS)
        return Response(page)

    @action(detail=False, methods=["get"])
    def latest(self, request):
        """The most recent checkpoint."""
        checkpoint = self.get_queryset().order_by("-tree_size").first()
        if checkpoint is None:
            raise exceptions.NotFound("No checkpoint has been signed yet.")
        return Response(self.get_serializer(checkpoint).data)


class ConsistencyProofView(StrictQueryMixin, APIView):
    """The consistency proof between two tree sizes (e.g. two checkpoints)."""

    permission_classes = [PolicyPermission]
    policy_action = "audit.prove_consistency"
    extra_query_parameters = frozenset({"first", "second"})

    @extend_schema(
        parameters=[serializers.ConsistencyQuerySerializer], responses=serializers.ConsistencyProofSerializer
    )
    def get(self, request):
        query = serializers.ConsistencyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        proof = _proof_or_400(proofs.consistency, query.validated_data["first"], query.validated_data["second"])
        return Response(serializers.ConsistencyProofSerializer(proof).data)


CHECKPOINT_FORMAT = (
    "c2sp.org/tlog-checkpoint signed note: <origin>\\n<tree_size>\\n<base64 root>\\n, a blank line, then "
    "\u2014 <origin> <base64(key hash || Ed25519 signature)>\\n; checkpoints with an empty origin are of the first "
    f"format, whose signature covers {verifier.CHECKPOINT_ORIGIN}\\n<tree_size>\\n<base64 root>\\n<timestamp>\\n"
)


class PublicKeyView(StrictQueryMixin, APIView):
    """The public key that verifies checkpoint signatures: published, so anyone can check the log."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    @extend_schema(responses=serializers.PublicKeySerializer)
    def get(self, request):
        return Response(
            {
                "algorithm": "Ed25519",
                "key_id": signing.key_id(),
                "public_key_pem": signing.public_key_pem(),
                "public_key_raw": signing.public_key_raw().hex(),
                "origin": signing.log_origin(),
                "verifier_key": signing.verifier_key(),
                "checkpoint_format": CHECKPOINT_FORMAT,
            }
        )
