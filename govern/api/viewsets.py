"""The base viewsets: the queryset is restricted to what the user may see, unknown query parameters are refused, and a
change to a versioned record names the revision it was made against (If-Match), as NetBox's ETag mixin does."""

import re

from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, viewsets
from rest_framework.parsers import FormParser, JSONParser

from govern import policy

from .schema import GovernAutoSchema

# Query parameters every list endpoint understands besides its filters.
COMMON_QUERY_PARAMETERS = frozenset({"limit", "offset", "format", "reason"})


class StrictQueryMixin:
    """Refuse query parameters the endpoint does not know, so a typo never silently widens a result."""

    extra_query_parameters: frozenset[str] = frozenset()
    schema = GovernAutoSchema()  # every API view has this mixin: the schema documents its refusals too

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
        # The documented types hold: a page's bounds are whole numbers (`offset=null` was taken as 0), and a filter
        # sent is a value, not an empty string that quietly filters nothing.
        problems = {}
        for name in ("limit", "offset"):
            value = request.query_params.get(name)
            if value is not None and not (value.isdigit() and len(value) <= 9):
                problems[name] = f"{name} is a whole number, 0 or more."
        filterset_class = getattr(self, "filterset_class", None)
        valued = set(getattr(filterset_class, "base_filters", {})) | set(self.extra_query_parameters)
        for name in valued & set(request.query_params):
            if request.query_params.get(name, "").strip() == "":
                problems[name] = f"Give {name} a value, or leave it out."
        if problems:
            raise exceptions.ValidationError(problems)


def boolean_parameter(request, name: str, *, default: bool = False) -> bool:
    """A true/false query parameter read strictly: `dry_run=ture` must not run the real thing."""
    value = request.query_params.get(name)
    if value is None:
        return default
    known = {"true": True, "1": True, "false": False, "0": False}
    if value.strip().lower() not in known:
        raise exceptions.ValidationError({name: f"{name} is true or false."})
    return known[value.strip().lower()]


class RoleGateMixin:
    """A role that may see none of the model's rows is refused (403 with the policy's reason), never told 404.

    `action_rules` names the policy action of each write, checked for the role before the body is read, so a
    refused request gets 403 whatever it carries (the service checks again, with the object).
    """

    action_rules: dict[str, str] = {}

    def check_permissions(self, request):
        super().check_permissions(request)
        rule = self.action_rules.get(getattr(self, "action", None) or "")
        if rule is not None:
            reason = policy.refusal(request.user, rule)
            if reason is not None:
                self.permission_denied(request, message=reason)
        model = self.queryset.model
        verb = getattr(self, "restrict_action", "view")
        reason = policy.refusal(request.user, f"{model._meta.app_label}.{verb}_{model._meta.model_name}")
        if reason is not None:
            self.permission_denied(request, message=reason)


class RestrictedReadOnlyViewSet(RoleGateMixin, StrictQueryMixin, viewsets.ReadOnlyModelViewSet):
    """List and detail through Model.objects.restrict(user, "view"): a list never leaks a row the detail refuses."""

    restrict_action = "view"

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, self.restrict_action)


class RestrictedViewSet(RoleGateMixin, StrictQueryMixin, viewsets.GenericViewSet):
    """Reads through Model.objects.restrict(user, "view"); writes are the subclass's, and go to services."""

    parser_classes = [JSONParser, FormParser]  # an upload action declares multipart itself

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, "view")


# --- Revisions as ETags ---------------------------------------------------------------------------------------------

_ETAG = re.compile(r'^(?:W/)?"r(\d+)"$')


class PreconditionRequired(exceptions.APIException):
    """The change must name the revision it was made against."""

    status_code = 428
    default_detail = 'Send If-Match with the ETag of the version you reviewed (e.g. "r3"): the change is bound to it.'
    default_code = "precondition_required"


def if_match(what: str, *, required: bool = False) -> OpenApiParameter:
    """The If-Match header parameter, documented for the schema."""
    return OpenApiParameter(
        "If-Match", str, OpenApiParameter.HEADER, required=required,
        description=f'The ETag of the {what} you reviewed, e.g. "r3".',
    )  # fmt: skip


def etag(revision: int) -> str:
    """A revision as an ETag."""
    return f'"r{revision}"'


class RevisionMixin:
    """A versioned record's revision travels as its ETag: reads and writes answer with it, and a change or a decision
    sends it back in If-Match, so nobody overwrites or authorises a version they did not see. The service compares it
    under the row lock and refuses a stale one with 412, saying what changed; `required` makes it 428 when absent."""

    def expected_revision(self, request, *, required: bool = False) -> int | None:
        """The revision named by If-Match (from the ETag), or None when none was sent and none is required."""
        header = (request.headers.get("If-Match") or "").strip()
        if not header or header == "*":
            if required:
                raise PreconditionRequired()
            return None
        match = _ETAG.match(header)
        if not match:
            raise exceptions.ValidationError({"If-Match": 'Give the ETag you were sent, e.g. "r3".'})
        return int(match.group(1))

    def revision_headers(self, record) -> dict[str, str]:
        """The ETag header of a versioned record (a watchlist, a deployment's plan) as it is now."""
        return {"ETag": etag(record.revision)}
