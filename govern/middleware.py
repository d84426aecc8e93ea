"""Project-wide middleware that protects every endpoint before any view runs."""

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
