"""The log for anyone, without an account: its latest checkpoint and its tiles (c2sp.org/tlog-tiles), read-only,
cacheable and rate-limited per client address. GET and HEAD only."""

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_safe
from rest_framework.throttling import AnonRateThrottle

from . import tiles, verifier

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=10"  # the latest checkpoint and a partial tile: the tree grows past them within seconds


class PublicLogThrottle(AnonRateThrottle):
    """Requests per client address to the public log, at AUDIT_PUBLIC_RATE."""

    scope = "public-log"

    def get_rate(self):
        return settings.AUDIT_PUBLIC_RATE


def _text(message: str, status: int, cache: str | None = None) -> HttpResponse:
    response = HttpResponse(message + "\n", content_type="text/plain; charset=utf-8", status=status)
    if cache:
        response["Cache-Control"] = cache
    return response


def _throttled(request) -> HttpResponse | None:
    throttle = PublicLogThrottle()
    if throttle.allow_request(request, None):
        return None
    response = _text("Too many requests to the public log: wait and ask again.", 429)
    wait = throttle.wait()
    response["Retry-After"] = str(max(1, round(wait or 1)))
    return response


@require_safe
def checkpoint(request):
    """The latest checkpoint, as a C2SP signed note."""
    refused = _throttled(request)
    if refused is not None:
        return refused
    try:
        return _text(tiles.latest_checkpoint_note().removesuffix("\n"), 200, SHORT)
    except tiles.TileMissing as exc:
        return _text(str(exc), 404)


@require_safe
def tile(request, path: str):
    """A hash tile (tile/<L>/<N>[.p/<W>]) or an entry bundle (tile/entries/<N>[.p/<W>]): full ones for ever."""
    refused = _throttled(request)
    if refused is not None:
        return refused
    try:
        level, index, width = verifier.parse_tile_path(path)
    except verifier.TilePathError as exc:
        return _text(str(exc), 400)
    try:
        body = tiles.entries(index, width) if level is None else tiles.hash_tile(level, index, width)
    except tiles.TileMissing as exc:
        return _text(str(exc), 404)
    response = HttpResponse(body, content_type="application/octet-stream")
    response["Cache-Control"] = IMMUTABLE if width == verifier.TILE_WIDTH else SHORT
    return response
