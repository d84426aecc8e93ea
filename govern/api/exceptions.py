"""One error shape for the API: {"detail": ...} with the right 4xx; never a 500 for bad input or a database outage."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import DataError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from govern.errors import (
    DATABASE_RETRY_AFTER_SECONDS,
    DATABASE_UNAVAILABLE,
    Conflict,
    PreconditionFailed,
    TooLarge,
    TooMany,
    Unavailable,
    database_refusal_message,
)

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    """Map Django's own errors to DRF responses before DRF handles the rest."""
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "Request body too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    from apps.audit.services import AuditDataError

    if isinstance(exc, AuditDataError):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, (RecursionError, OverflowError)):
        # JSON nested past the interpreter's depth (the token endpoint took 100,000 levels to a 500), or a date or
        # number beyond what Python's types hold: the request is at fault.
        logger.warning("Refused a request Python could not hold: %r", exc)
        from govern.middleware import bad_input_refusal

        return Response({"detail": bad_input_refusal(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DataError):
        # PostgreSQL refused a value the request carried (class 22: a NUL character in text, a time-zone offset or
        # a number beyond its range) after the parsers let it through: the request is at fault, not the server.
        logger.warning("Refused a value the database cannot hold: %s", exc)
        return Response({"detail": "A value in the request is outside what can be stored or compared."}, status=400)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        # Any transaction the view opened has rolled back (or its commit is in doubt only if the connection dropped
        # at the commit itself): the client retries, and a service that already acted answers 409 the second time.
        logger.warning("Database refused the request, answered 503: %s", exc)
        return Response(
            {"detail": database_refusal_message(exc)},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, Unavailable):
        logger.warning("A service did not answer, answered 503: %s", exc)
        return Response(
            {"detail": str(exc)},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(exc.retry_after_seconds)},
        )
    if isinstance(exc, TooLarge):
        return Response({"detail": str(exc)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, TooMany):
        return Response(
            {"detail": str(exc)},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after_seconds)},
        )
    if isinstance(exc, PreconditionFailed):
        return Response({"detail": str(exc)}, status=status.HTTP_412_PRECONDITION_FAILED)
    if isinstance(exc, Conflict):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        # A bare message (ValidationError("...")) renders as a list; keep the one shape clients are promised.
        response.data = {"detail": " ".join(str(message) for message in response.data)}
    return response
