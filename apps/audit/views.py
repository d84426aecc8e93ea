"""Pages of the audit log: events with filters, checkpoints."""

from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from govern import policy, tables

from . import access, services, signing
from .choices import EVENTS_EXPORTED
from .filtersets import EventFilterSet
from .models import Checkpoint, Event
from .tables import EventTable


@login_required
@require_safe
def events(request):
    """The log, newest first, filtered by action, actor, target and time, sorted and paged; as CSV, an export that is
    itself logged (a disclosure, like the access log's)."""
    if not policy.may(request.user, "audit.view_event"):
        raise PermissionDenied("You may not read the audit log.")
    shown = Event.objects.restrict(request.user, "view").defer("canonical").order_by("-seq")  # the JSON is not shown
    filterset = EventFilterSet(request.GET, queryset=shown)
    valid = filterset.is_valid()
    table = EventTable(filterset.qs if valid else Event.objects.none())
    if valid and tables.wants_csv(request):
        rows = tables.every_record(request, table)
        with transaction.atomic():
            services.record_export(
                EVENTS_EXPORTED,
                ("audit.event", "events"),
                request.user,
                filters={name: value for name, value in request.GET.items() if name in filterset.filters and value},
                rows=len(rows),
                fmt="csv",
                reason="Audit log export",
            )
        return tables.csv_response(table, "audit-log", rows)
    tables.show(request, table)
    context = {"filterset": filterset, "table": table, "filter_error": "" if valid else tables.filter_errors(filterset)}
    return render(request, "audit/events.html", context, status=200 if valid else 400)


@login_required
@require_safe
def checkpoints(request):
    """Signed checkpoints and the public key that verifies them."""
    if not policy.may(request.user, "audit.view_checkpoint"):
        raise PermissionDenied("You may not read checkpoints.")
    page = Paginator(Checkpoint.objects.order_by("-tree_size"), 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "public_key_pem": signing.public_key_pem(),
        "key_id": signing.key_id(),
        "verifier_key": signing.verifier_key(),
        "origin": signing.log_origin(),
    }
    return render(request, "audit/checkpoints.html", context)


@login_required
@require_POST
def consult(request):
    """The reason form of a page showing personal data: the reason is kept in the session for that page, which is
    loaded again without it in its address. The page itself logs the consultation, with this reason."""
    target = request.POST.get("next", "")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return HttpResponseBadRequest("The page to go back to is not one of Govern's.", content_type="text/plain")
    reason = request.POST.get("reason", "").strip()
    if not access.valid_reason(reason):
        context = {"min_length": access.MIN_REASON_LENGTH, "given": reason or " ", "next": target}
        return render(request, "audit/reason_required.html", context, status=400)
    path = urlsplit(target).path
    access.remember_for_page(request, path, reason)
    return redirect(target)
