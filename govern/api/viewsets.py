"""The base viewset: the queryset is restricted to what the user may see, unknown query parameters are refused."""

from rest_framework import exceptions, viewsets
from rest_framework.parsers import FormParser, JSONParser

# Query parameters every list endpoint understands besides its filters.
COMMON_QUERY_PARAMETERS = frozenset({"limit", "offset", "format", "reason"})


class StrictQueryMixin:
    """Refuse query parameters the endpoint does not know, so a typo never silently widens a result."""

    extra_query_parameters: frozenset[str] = frozenset()

    def allowed_query_parameters(self) -> set[str]:
        """The filterset's fields, pagination and anything the view declares."""
        allowed = set(COMMON_QUERY_PARAMETERS) | set(self.extra_query_parameters)
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None:
            allowed |= set(filterset_class.base_filters)
        return allowed

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - self.allowed_query_parameters())
        if unknown:
            allowed = ", ".join(sorted(self.allowed_query_parameters()))
            raise exceptions.ValidationError(
                {"detail": f"Unknown query parameter(s): {', '.join(unknown)}. Allowed: {allowed}."}
            )


class RestrictedReadOnlyViewSet(StrictQueryMixin, viewsets.ReadOnlyModelViewSet):
    """List and detail through Model.objects.restrict(user, "view"): a list never leaks a row the detail refuses."""

    restrict_action = "view"

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, self.restrict_action)


class RestrictedViewSet(StrictQueryMixin, viewsets.GenericViewSet):
    """Reads through Model.objects.restrict(user, "view"); writes are the subclass's, and go to services."""

    parser_classes = [JSONParser, FormParser]  # an upload action declares multipart itself

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, "view")
