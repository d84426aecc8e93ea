"""Consultation reasons (DPA 2018 s.62): a read of personal or biometric data needs a reason and leaves an event.

The read itself and its event are a selector's (each app's `selectors.py`), the same for the page and the API; this
module only gets the reason from each surface. API: `stated_reason(request)`, from `?reason=` or the
`X-Access-Reason` header, or a 400. Pages: decorate a view with `@reason_required(get_target)`; without a reason it
shows a form, which POSTs the reason to `/audit/consult/`: it is kept in the session for the page (and the images it
shows) for REMEMBER_SECONDS, and the page is loaded again without it. So a page's reason never travels in a URL,
where access logs and Referer headers would carry it.
"""

import time
from functools import wraps

from django.shortcuts import render
from rest_framework import exceptions

from govern import policy

from . import services

REASON_HEADER = "HTTP_X_ACCESS_REASON"
MIN_REASON_LENGTH = 5
REMEMBER_SECONDS = 15 * 60  # a page's reason carries over to its images and sub-pages for this long


def reason_from(request) -> str:
    """The stated reason from the query string, form or header; blank when none was given."""
    params = getattr(request, "query_params", request.GET)
    value = params.get("reason") or (request.POST.get("reason") if request.method == "POST" else None)
    return (value or request.META.get(REASON_HEADER, "")).strip()


def valid_reason(reason: str) -> bool:
    """A reason the log takes: 5 to 2,000 characters on one line, none of them a control character (no NUL, CR or
    LF to forge a log line with)."""
    return MIN_REASON_LENGTH <= len(reason) <= services.MAX_REASON_LENGTH and reason.isprintable()


def stated_reason(request) -> str:
    """The reason given for an API read of personal data; a 400 when there is none."""
    reason = reason_from(request)
    if not valid_reason(reason):
        raise exceptions.ValidationError(
            {
                "reason": f"State why you are consulting this record ({MIN_REASON_LENGTH} to "
                f"{services.MAX_REASON_LENGTH} printable characters), as ?reason= or the X-Access-Reason header."
            }
        )
    return reason


def consulted(actor, action: str, record, reason: str, data: dict | None = None):
    """A selector's three steps for one record: the policy lets `actor` `action` it, the consultation is logged (with
    `data`), and the record is handed back to be shown. Call it inside the selector's transaction."""
    policy.require(actor, action, record)
    services.record_access(record, actor, reason, data=data)
    return record


def _session_key(target) -> str:
    described = services.Target.of(target)
    return f"consultation:{described.type}:{described.id}"


def _saved(request, key: str) -> str:
    saved = request.session.get(key) if hasattr(request, "session") else None
    if not saved or saved.get("until", 0) < time.time():
        return ""
    return saved.get("reason", "")


def remembered_reason(request, target) -> str:
    """A reason the user gave for this record in the last few minutes: each read is still logged with it."""
    return _saved(request, _session_key(target))


def _remember(request, target, reason: str) -> None:
    if hasattr(request, "session"):
        request.session[_session_key(target)] = {"reason": reason, "until": time.time() + REMEMBER_SECONDS}


def _page_key(path: str) -> str:
    return f"consultation:page:{path}"


def remember_for_page(request, path: str, reason: str) -> None:
    """The reason posted from a page's reason form, for that page (its path), for REMEMBER_SECONDS."""
    request.session[_page_key(path)] = {"reason": reason, "until": time.time() + REMEMBER_SECONDS}


def forget(request, target) -> None:
    """Drop a remembered reason for a record and for this page: for a disclosure that must be asked for afresh each
    time (a court export), so that a link followed later does not produce it again under the earlier reason."""
    if hasattr(request, "session"):
        request.session.pop(_session_key(target), None)
        request.session.pop(_page_key(request.path), None)


def reason_required(get_target):
    """Decorate a page view: ask for a reason for consulting `get_target(request, **kwargs)` first, and remember it.

    The view gets the target and the reason, and reads through its selector, which logs the consultation: a page
    that shows nothing personal after all (a review no longer open) logs nothing.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            target = get_target(request, *args, **kwargs)
            reason = (
                reason_from(request) or remembered_reason(request, target) or _saved(request, _page_key(request.path))
            )
            if not valid_reason(reason):
                status = 400 if "reason" in request.GET or "reason" in request.POST else 200
                context = {
                    "target": target, "min_length": MIN_REASON_LENGTH, "given": reason, "next": request.get_full_path()
                }  # fmt: skip
                return render(request, "audit/reason_required.html", context, status=status)
            _remember(request, target, reason)
            return view(request, *args, target=target, reason=reason, **kwargs)

        return wrapper

    return decorator
