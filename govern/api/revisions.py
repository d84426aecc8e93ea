"""Revisions as ETags: a change names the revision it was made against (If-Match), so nobody overwrites or
authorises a version they did not see. A stale one is refused with 412 by the service."""

import re

from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions

_ETAG = re.compile(r'^(?:W/)?"r(\d+)"$')


def if_match(what: str, *, required: bool = False) -> OpenApiParameter:
    """The If-Match header parameter, documented for the schema."""
    return OpenApiParameter(
        "If-Match", str, OpenApiParameter.HEADER, required=required,
        description=f'The ETag of the {what} you reviewed, e.g. "r3".',
    )  # fmt: skip


def expected_revision(request, *, required: bool = False) -> int | None:
    """The revision named by If-Match (from the ETag); 428 when `required` and absent."""
    header = (request.headers.get("If-Match") or "").strip()
    if not header or header == "*":
        if required:
            raise PreconditionRequired()
        return None
    match = _ETAG.match(header)
    if not match:
        raise exceptions.ValidationError({"If-Match": 'Give the ETag you were sent, e.g. "r3".'})
    return int(match.group(1))


def etag(revision: int) -> str:
    """A revision as an ETag."""
    return f'"r{revision}"'


class PreconditionRequired(exceptions.APIException):
    """The change must name the revision it was made against."""

    status_code = 428
    default_detail = 'Send If-Match with the ETag of the version you reviewed (e.g. "r3"): the change is bound to it.'
    default_code = "precondition_required"
