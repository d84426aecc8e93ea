"""Project-wide middleware that protects every endpoint before any view runs."""

import logging
import re
import sys
from functools import wraps

from django.conf import settings
from django.core.signals import got_request_exception
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from govern import errors

logger = logging.getLogger(__name__)


class RequestBodyLimitMiddleware:
    """Refuse a request whose declared body is larger than MAX_REQUEST_BODY_BYTES, before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return JsonResponse({"detail": "Content-Length is not a number."}, status=400)
        if length < 0:
            return JsonResponse({"detail": "Content-Length is negative."}, status=400)
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return JsonResponse(
                {"detail": f"Request body too large: {length} bytes, limit {settings.MAX_REQUEST_BODY_BYTES}."},
                status=413,
            )
        return self.get_response(request)


def content_security_policy(overrides: dict | None = None) -> str:
    """The Content-Security-Policy header value: CONTENT_SECURITY_POLICY with a view's overrides on top."""
    directives = {**settings.CONTENT_SECURITY_POLICY, **(overrides or {})}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def csp_override(**directives):
    """Widen (or narrow) directives of the policy for one view: `csp_override(style_src="'self' 'unsafe-inline'")`.

    Names use underscores for dashes. Never use it to allow inline scripts: that is what the policy is for.
    """
    overrides = {name.replace("_", "-"): value for name, value in directives.items()}
    if "unsafe-inline" in overrides.get("script-src", "") or "unsafe-eval" in overrides.get("script-src", ""):
        raise ValueError("Inline or eval'd scripts are never allowed.")

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response.csp_overrides = overrides
            return response

        return wrapped

    return decorate


class ContentSecurityPolicyMiddleware:
    """Send the Content-Security-Policy on every response: scripts and styles only from Govern's own files."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy(getattr(response, "csp_overrides", None))
        return response


class SessionCookieGuardMiddleware:
    """A session cookie that cannot be a session key is no session at all (before SessionMiddleware reads it).

    Django's keys are 32 lower-case letters and digits; anything else (a NUL character, say, which PostgreSQL
    refuses in text) would otherwise reach the session table and answer 500 on every page.
    """

    KEY = re.compile(r"[a-z0-9]{8,64}")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        value = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if value is not None and not self.KEY.fullmatch(value):
            del request.COOKIES[settings.SESSION_COOKIE_NAME]
        return self.get_response(request)


def database_unavailable(request, failure: Exception) -> HttpResponse:
    """503 with Retry-After: JSON for the API, a plain page (rendered without the database) for people."""
    retry_after = errors.DATABASE_RETRY_AFTER_SECONDS
    message = errors.database_refusal_message(failure)
    if request.path_info.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"detail": message}, status=503)
    else:
        # No request context: a context processor would ask the database who is signed in.
        page = render_to_string("503.html", {"message": message, "retry_after": retry_after})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(retry_after)
    return response


def _note_database_failure(sender, request=None, **kwargs):
    """Django is about to answer 500 for an exception a middleware raised: remember whether the database caused it."""
    failure = sys.exc_info()[1]
    if request is not None and isinstance(failure, errors.DATABASE_UNAVAILABLE):
        request.database_failure = failure


class DatabaseUnavailableMiddleware:
    """A database that is restarting or unreachable answers 503 with Retry-After, never a 500 with a traceback.

    A view's error is caught on its way out (`process_exception`). One raised inside another middleware (loading the
    session or the signed-in user) has already become Django's 500 by the time it reaches this one, which sits near
    the top of the stack: Django's `got_request_exception` signal marks the request, and the 500 becomes the 503.
    The API's own views answer the same 503 through DRF (govern.api.exceptions).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(_note_database_failure, dispatch_uid="govern.database_unavailable")

    def __call__(self, request):
        response = self.get_response(request)
        failure = getattr(request, "database_failure", None)
        if response.status_code == 500 and failure is not None:
            return database_unavailable(request, failure)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, errors.DATABASE_UNAVAILABLE):
            logger.warning("Database refused %s %s, answered 503: %s", request.method, request.path, exception)
            return database_unavailable(request, exception)
        refusal = bad_input_refusal(exception)
        if refusal is not None:
            logger.warning("Refused bad input to %s %s with 400: %r", request.method, request.path, exception)
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": refusal}, status=400)
            return HttpResponse(f"Bad request: {refusal}\n", status=400, content_type="text/plain; charset=utf-8")
        return None


def bad_input_refusal(exception: Exception) -> str | None:
    """What to tell a person whose input a page could not take, as the API does: a value PostgreSQL refuses (a NUL
    character, a number out of range), nesting too deep to read, or a date beyond the calendar. None: not bad input,
    a real fault (a 500, logged)."""
    from django.db import DataError

    from apps.audit.services import AuditDataError  # a value the log refuses (a reason over 2,000 characters)

    if isinstance(exception, AuditDataError):
        return str(exception)
    if isinstance(exception, DataError):
        return "A value in the request is outside what can be stored or compared."
    if isinstance(exception, RecursionError):
        return "The request is nested too deeply to read."
    if isinstance(exception, OverflowError):
        return "A date or number in the request is out of range."
    return None
