"""Pagination for every list endpoint."""

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    """limit/offset pages, 50 by default, 500 at most."""

    default_limit = 50
    max_limit = 500


# What a plain APIView that pages its answer documents (a viewset's list gets these from drf-spectacular itself).
PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description="Number of results to return per page (50 unless given, 500 at most)."),
    OpenApiParameter("offset", int, description="The initial index from which to return the results."),
]


def paginated(name: str, rows: serializers.Serializer) -> serializers.Serializer:
    """The schema of one page of `rows` (many=True), in the envelope every list answers with."""
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": rows,
        },
    )
