"""Pages of the audit log: events with filters, checkpoints."""

from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from govern import policy

from . import access, signing
from .filtersets import EventFilterSet
from .models import Checkpoint, Event


@login_required
@require_safe
def events(request):
    """The log, newest first, filtered by action, actor, target and time."""
    if not policy.may(request.user, "audit.view_event"):
        raise PermissionDenied("You may not read the audit log.")
    filterset = EventFilterSet(request.GET, queryset=Event.objects.restrict(request.user, "view").order_by("-seq"))
    page = Paginator(filterset.qs if filterset.is_valid() else Event.objects.none(), 50).get_page(
        request.GET.get("page")
    )
    status = 200 if filterset.is_valid() else 400
    return render(request, "audit/events.html", {"filterset": filterset, "page": page}, status=status)


@login_required
@require_safe
def checkpoints(request):
    """Signed checkpoints and the public key that verifies them."""
    if not policy.may(request.user, "audit.view_checkpoint"):
        raise PermissionDenied("You may not read checkpoints.")
    page = Paginator(Checkpoint.objects.order_by("-tree_size"), 50).get_page(request.GET.get("page"))
    context = {"page": page, "public_key_pem": signing.public_key_pem(), "key_id": signing.key_id()}
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
