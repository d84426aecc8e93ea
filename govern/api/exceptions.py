"""One error shape for the API: {"detail": ...} with the right 4xx, never a 500 for bad input."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, ValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from govern.errors import Conflict, PreconditionFailed


def exception_handler(exc, context):
    """Map Django's own errors to DRF responses before DRF handles the rest."""
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "Request body too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    from apps.audit.services import AuditDataError

    if isinstance(exc, AuditDataError):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, PreconditionFailed):
        return Response({"detail": str(exc)}, status=status.HTTP_412_PRECONDITION_FAILED)
    if isinstance(exc, Conflict):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    return drf_exception_handler(exc, context)
