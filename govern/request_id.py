"""The request id that ties every audit event to the request, task or command that caused it (part of the kernel:
the audit log, the outbox and Celery all read it, so it imports no app)."""

import uuid
from contextvars import ContextVar

_request_id: ContextVar[uuid.UUID | None] = ContextVar("govern_request_id", default=None)


def begin_request(carried: str | uuid.UUID | None = None) -> uuid.UUID:
    """Start a new unit of work: adopt a carried id if it is a valid UUID, else make a new one."""
    request_id = None
    if carried is not None:
        try:
            request_id = uuid.UUID(str(carried))
        except ValueError:
            request_id = None
    request_id = request_id or uuid.uuid4()
    _request_id.set(request_id)
    return request_id


def current_request_id() -> uuid.UUID:
    """The id of the unit of work in progress; a command or shell without one gets one on first use."""
    request_id = _request_id.get()
    if request_id is None:
        request_id = begin_request()
    return request_id
