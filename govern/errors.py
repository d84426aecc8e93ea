"""Errors every service may raise, mapped to HTTP statuses by the API and the pages."""


class Conflict(Exception):
    """The object changed state since the caller looked at it (HTTP 409): reload and decide again."""


class PreconditionFailed(Conflict):
    """An If-Match header named a version that is no longer current (HTTP 412)."""
