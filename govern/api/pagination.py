"""Pagination for every list endpoint."""

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    """limit/offset pages, 50 by default, 500 at most."""

    default_limit = 50
    max_limit = 500
