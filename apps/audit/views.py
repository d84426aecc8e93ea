"""Pages of the audit log: events with filters, checkpoints."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.accounts import policy

from . import signing
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
