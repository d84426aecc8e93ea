"""Give every HTTP request its own id and return it to the client."""

from govern.request_id import begin_request

RESPONSE_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """A fresh UUID per request (never the client's), echoed in X-Request-ID for support and audit look-ups."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = begin_request()
        response = self.get_response(request)
        response[RESPONSE_HEADER] = str(request.request_id)
        return response
