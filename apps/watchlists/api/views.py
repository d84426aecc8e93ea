"""The watchlists API: every write calls a service; every read of personal data needs a reason and is logged."""

from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.access import stated_reason
from govern import policy
from govern.api.permissions import PolicyPermission
from govern.api.viewsets import RestrictedViewSet, RevisionMixin, StrictQueryMixin, if_match

from .. import selectors
from ..filtersets import SubjectFilterSet, WatchlistFilterSet
from ..models import CustodyImage, Entry, Review, Subject, Watchlist
from ..services import custody, erasure, watchlists
from . import serializers

REASON = OpenApiParameter("reason", str, required=True, description="Why you consult this personal data (logged).")
IF_MATCH = if_match("watchlist")


class SubjectViewSet(RestrictedViewSet):
    """The gallery of subjects: searching it or reading one is a logged consultation."""

    queryset = Subject.objects.prefetch_related("images")
    serializer_class = serializers.SubjectSerializer
    filterset_class = SubjectFilterSet

    @extend_schema(parameters=[REASON])
    def list(self, request):
        """Search subjects; the search and the ids it returned are logged with your reason."""
        found = selectors.search_subjects(
            request.user, request.query_params, stated_reason(request), take=self.paginate_queryset
        )
        return self.get_paginated_response(self.get_serializer(found, many=True).data)

    @extend_schema(parameters=[REASON])
    def retrieve(self, request, pk=None):
        """One subject with their images; logged with your reason."""
        reason = stated_reason(request)
        return Response(self.get_serializer(selectors.subject(request.user, self.get_object(), reason)).data)

    def create(self, request):
        """Record a new subject."""
        body = serializers.SubjectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subject = custody.create_subject(request.user, **body.validated_data)
        return Response(self.get_serializer(subject).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.SubjectUpdateSerializer, responses=serializers.SubjectSerializer)
    def partial_update(self, request, pk=None):
        """Correct a subject's details, with the reason."""
        subject = self.get_object()
        body = serializers.SubjectUpdateSerializer(subject, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        subject = custody.update_subject(request.user, subject, reason=changes.pop("reason", ""), **changes)
        return Response(self.get_serializer(subject).data)

    @extend_schema(request=serializers.ImageUploadSerializer, responses={201: serializers.CustodyImageSerializer})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def images(self, request, pk=None):
        """Upload a custody image: checked by its content, encrypted at rest."""
        policy.require(request.user, "watchlists.add_custodyimage")
        subject = self.get_object()
        body = serializers.ImageUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        upload = fields.pop("image")
        image = custody.upload_image(request.user, subject, upload.read(), **fields)
        return Response(serializers.CustodyImageSerializer(image).data, status=status.HTTP_201_CREATED)


class CustodyImageViewSet(RestrictedViewSet):
    """Custody images: the record and the bytes, each only with a reason."""

    queryset = CustodyImage.objects.all()
    serializer_class = serializers.CustodyImageSerializer

    @extend_schema(parameters=[REASON])
    def retrieve(self, request, pk=None):
        """The image's record; logged with your reason."""
        reason = stated_reason(request)
        return Response(self.get_serializer(selectors.custody_image(request.user, self.get_object(), reason)).data)

    @extend_schema(parameters=[REASON], responses={(200, "image/jpeg"): bytes})
    @action(detail=True, methods=["get"])
    def content(self, request, pk=None):
        """The image itself; the consultation is logged before it is sent."""
        reason = stated_reason(request)
        image = self.get_object()
        content = selectors.image_content(request.user, image, reason)
        response = HttpResponse(content, content_type=image.content_type)
        response["Cache-Control"] = "no-store"
        return response


class WatchlistViewSet(RevisionMixin, mixins.ListModelMixin, RestrictedViewSet):
    """Watchlists and their transitions; entries (personal data) need a reason to read."""

    queryset = Watchlist.objects.all()
    serializer_class = serializers.WatchlistSerializer
    filterset_class = WatchlistFilterSet

    def _respond(self, watchlist, code=status.HTTP_200_OK):
        watchlist.refresh_from_db()
        return Response(self.get_serializer(watchlist).data, status=code, headers=self.revision_headers(watchlist))

    def retrieve(self, request, pk=None):
        """A watchlist's record; the ETag names its version."""
        return self._respond(self.get_object())

    def create(self, request):
        """Start a draft for one deployment's purpose, inside the compile window."""
        body = serializers.WatchlistSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        watchlist = watchlists.create_watchlist(request.user, **body.validated_data)
        return self._respond(watchlist, status.HTTP_201_CREATED)

    @extend_schema(parameters=[REASON], responses=serializers.EntrySerializer(many=True))
    @action(detail=True, methods=["get"], url_path="entries", pagination_class=None)  # every entry, never paged
    def entries(self, request, pk=None):
        """Who is on the list and why; logged with your reason."""
        policy.require(request.user, "watchlists.view_entry")  # officers see which lists exist, not who is on them
        reason = stated_reason(request)
        rows = selectors.watchlist_entries(request.user, self.get_object(), reason)
        return Response(serializers.EntrySerializer(rows, many=True).data)

    @extend_schema(
        parameters=[IF_MATCH], request=serializers.EntryWriteSerializer, responses={201: serializers.EntrySerializer}
    )
    @entries.mapping.post
    def add_entry(self, request, pk=None):
        """Put a person on the list (a change after submission starts a new version)."""
        watchlist = self.get_object()
        body = serializers.EntryWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = watchlists.add_entry(
            request.user, watchlist, expected_revision=self.expected_revision(request), **body.validated_data
        )
        return Response(
            serializers.EntrySerializer(entry).data,
            status=status.HTTP_201_CREATED,
            headers=self.revision_headers(entry.watchlist),
        )

    @extend_schema(parameters=[IF_MATCH], request=None)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Send the current version for approval."""
        watchlists.submit(request.user, self.get_object(), expected_revision=self.expected_revision(request))
        return self._respond(self.get_object())

    @extend_schema(request=serializers.ApproveSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve the version you reviewed, named by its content hash."""
        body = serializers.ApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        watchlist = self._reviewed(pk, body.validated_data["content_hash"])
        return self._respond(watchlists.approve(request.user, watchlist, **body.validated_data))

    def _reviewed(self, pk, content_hash: str) -> Watchlist:
        """The list, or the one whose version with this hash the approver was sent: it may be back in draft since,
        out of their sight, and they are told so (409, what changed), not that it does not exist."""
        try:
            return self.get_object()
        except Http404:
            reviewed = Watchlist.objects.filter(
                pk=pk if str(pk).isdigit() else None, reviews__content_hash=content_hash
            )
            if not reviewed.exists():
                raise
            return reviewed.first()

    @extend_schema(request=serializers.CommentSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_for_changes(self, request, pk=None):
        """Send the version back with the changes wanted."""
        body = serializers.CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(watchlists.return_for_changes(request.user, self.get_object(), **body.validated_data))

    @extend_schema(request=serializers.CommentSerializer)
    @action(detail=True, methods=["post"])
    def ratify(self, request, pk=None):
        """Ratify an urgent approval before it lapses."""
        body = serializers.CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(watchlists.ratify(request.user, self.get_object(), **body.validated_data))

    @extend_schema(parameters=[REASON], responses=serializers.ReviewSerializer)
    @action(detail=True, methods=["get"])
    def review(self, request, pk=None):
        """The version under review (or last decided) with what changed since the last approval; logged."""
        policy.require(request.user, "watchlists.view_review")  # the review lists who is on the list
        reason = stated_reason(request)
        watchlist = self.get_object()
        review = Review.objects.filter(watchlist=watchlist).order_by("-version", "-id").first()
        if review is None:
            raise exceptions.NotFound(f"{watchlist.reference} has not been submitted yet.")
        return Response(serializers.ReviewSerializer(selectors.review(request.user, review, reason)).data)


class EntryViewSet(RevisionMixin, RestrictedViewSet):
    """One entry: reading needs a reason; changes go through the watchlist's versioning."""

    queryset = Entry.objects.select_related("subject", "image", "watchlist")
    serializer_class = serializers.EntrySerializer

    @extend_schema(parameters=[REASON])
    def retrieve(self, request, pk=None):
        """Who, on which list, and why; logged with your reason."""
        reason = stated_reason(request)
        return Response(self.get_serializer(selectors.entry(request.user, self.get_object(), reason)).data)

    @extend_schema(parameters=[IF_MATCH], request=serializers.EntryUpdateSerializer)
    def partial_update(self, request, pk=None):
        """Change the entry's image, category, detail or justification."""
        body = serializers.EntryUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = watchlists.update_entry(
            request.user, self.get_object(), expected_revision=self.expected_revision(request), **body.validated_data
        )
        entry.watchlist.refresh_from_db()
        return Response(self.get_serializer(entry).data, headers=self.revision_headers(entry.watchlist))

    @extend_schema(parameters=[IF_MATCH], request=serializers.ReasonSerializer, responses={204: None})
    def destroy(self, request, pk=None):
        """Take the person off the list, saying why."""
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        watchlists.remove_entry(
            request.user,
            self.get_object(),
            reason=body.validated_data["reason"],
            expected_revision=self.expected_revision(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class _ErasureView(StrictQueryMixin, APIView):
    """Erase with a reason (a privacy officer): every copy goes, with receipts; already gone answers erased false."""

    permission_classes = [PolicyPermission]
    parser_classes = [JSONParser, FormParser]
    service = None

    @extend_schema(request=serializers.ErasureSerializer, responses=serializers.ErasureAnswerSerializer)
    def post(self, request, pk):
        body = serializers.ErasureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = self.service(request.user, pk, reason=body.validated_data["reason"])
        answer = {"erased": done is not None, "receipt": None, "images": 0, "lists_changed": []}
        if done is not None:
            answer.update(receipt=done.seq, images=done.images, lists_changed=done.lists_changed)
        return Response(serializers.ErasureAnswerSerializer(answer).data)


class SubjectErasureView(_ErasureView):
    """Erase a subject: their images, templates, entries, restrictions and history (DPA 2018 s.47)."""

    policy_action = "watchlists.erase_subject"
    service = staticmethod(erasure.delete_subject)


class CustodyImageErasureView(_ErasureView):
    """Erase one custody image: its templates and projection, and the list entries using it."""

    policy_action = "watchlists.erase_custodyimage"
    service = staticmethod(erasure.delete_custody_image)
