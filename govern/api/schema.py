"""The OpenAPI schema documents the errors every endpoint can answer with, not only its success."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# 400: a field-by-field object from a serializer ({"field": ["problem"]}), or {"detail": ...} from the rest.
VALIDATION_ERROR = {
    "type": "object",
    "additionalProperties": {},
    "description": "What is wrong: {field: [problems]} or {detail: problem}.",
}


class ErrorSerializer(serializers.Serializer):
    """Every refusal other than a validation error: {"detail": why}."""

    detail = serializers.CharField()


class GovernAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the refusals the platform really returns, so clients (and fuzzers) can rely on it.

    Every operation may answer 400 (a bad field or an unknown query parameter), 401, 403 and 404 (an object named
    in the path or the body that does not exist or is not one the user may see, or nothing yet to show); a write may
    also answer 409 (the state moved on), 412 (If-Match did not match), 413 (body above MAX_REQUEST_BODY_BYTES) and
    415 (a body in a media type it does not parse); a write bound to a reviewed version answers 428 without If-Match;
    a throttled view, or one with a quota (`answers_too_many`), may answer 429; and any may answer 503 with
    Retry-After while the database is away (or, where a view says `answers_unavailable`, a worker it needs).
    """

    def _error_statuses(self) -> dict[int, str]:
        statuses = {
            400: _("The request is malformed or a value is refused."),
            401: _("No valid credentials were sent."),
            403: _("The credentials do not allow this."),
            404: _("No such object, or not one you may see."),
        }
        if self.method not in SAFE_METHODS:
            statuses[409] = _("The object's state does not allow this now.")
            statuses[412] = _("The object changed since the version named in If-Match.")
            statuses[413] = _("The request body is larger than the limit.")
            statuses[415] = _("The body's media type is not accepted here.")
            if any(
                getattr(parameter, "name", "") == "If-Match" and getattr(parameter, "required", False)
                for parameter in self.get_override_parameters()
            ):
                statuses[428] = _("Send If-Match with the ETag of the version you reviewed.")
        if self.view.get_throttles() or getattr(self.view, "answers_too_many", False):
            statuses[429] = _("Too many requests; try again later.")
        # The database restarting or out of reach (govern.api.exceptions, govern.middleware): every operation, even
        # one that reads no table, passes the session and the token through it.
        statuses[503] = _("The database is restarting or out of reach; try again after Retry-After seconds.")
        if getattr(self.view, "answers_unavailable", ""):
            statuses[503] = self.view.answers_unavailable
        return statuses

    def _get_request_body(self, direction="request"):
        # drf-spectacular documents the bodies of PUT, PATCH and POST only; a DELETE that reads one (the reason for
        # taking someone off a list) names it with extend_schema(request=...), and the schema must say so too.
        if self.method == "DELETE" and self._names_its_own_body():
            self.method = "POST"
            try:
                return super()._get_request_body(direction)
            finally:
                self.method = "DELETE"
        return super()._get_request_body(direction)

    def _names_its_own_body(self) -> bool:
        """Whether extend_schema named a request body other than the view's own serializer."""
        named = self.get_request_serializer()
        default = getattr(self.view, "serializer_class", None)
        return named is not None and (named if isinstance(named, type) else type(named)) is not default

    def _get_request_for_media_type(self, serializer, direction="request"):
        # A PATCH whose body is validated whole (its serializer says `validated_whole`: some fields required, the rest
        # optional) is documented as it is validated, not as drf-spectacular's all-optional "Patched" copy.
        if self.method == "PATCH" and getattr(serializer, "validated_whole", False):
            self.method = "POST"
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_for_media_type(serializer, direction)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status_code, description in self._error_statuses().items():
            body = VALIDATION_ERROR if status_code == 400 else ErrorSerializer
            response = self._get_response_for_code(body, str(status_code), ["application/json"], direction)
            responses.setdefault(str(status_code), {**response, "description": description})
        return responses
