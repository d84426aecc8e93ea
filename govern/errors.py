"""Errors every service may raise, mapped to HTTP statuses by the API and the pages."""

from django.db import InterfaceError, OperationalError


class Conflict(Exception):
    """The object changed state since the caller looked at it (HTTP 409): reload and decide again."""


class PreconditionFailed(Conflict):
    """An If-Match header named a version that is no longer current (HTTP 412)."""


class TooLarge(Exception):
    """The request asks for more than one request may carry (HTTP 413): send less at a time."""


class TooMany(Exception):
    """The caller has used up what it may ask for in a period, or at once (HTTP 429): try again later."""

    retry_after_seconds = 60


class Unavailable(Exception):
    """A service the request needs did not answer in time (HTTP 503 with Retry-After); the message says whether
    anything was done."""

    retry_after_seconds = 5


# The database refused or dropped the connection (restarting, failing over, unreachable) or gave up on the statement
# (a deadlock, a cancelled query): nothing the request did wrong, and nothing a retry in a few seconds cannot mend.
# The API and the pages answer 503 with Retry-After, never a 500 with a traceback.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE_MESSAGE = (
    "The database could not complete this request just now (it may be restarting). Try again in a few seconds."
)
DATABASE_CONFLICT_MESSAGE = (
    "The database stopped this request because it clashed with another change made at the same moment "
    "(a deadlock or a serialization failure). Try again."
)


def database_refusal_message(exc: Exception) -> str:
    """Why the database refused: a clash it resolved by stopping this transaction (SQLSTATE class 40), or an outage."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or ""
    return DATABASE_CONFLICT_MESSAGE if sqlstate.startswith("40") else DATABASE_UNAVAILABLE_MESSAGE
