"""Project-wide middleware that protects every endpoint before any view runs."""

import re
from functools import wraps

from django.conf import settings
from django.http import JsonResponse


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
