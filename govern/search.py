"""The header's search: one box for a reference, a name or a PNC ID, across the records the person may see.

It reads several apps, so it sits in the project's shell (like govern/urls.py, above the apps; no app imports it).
Each kind of record is read through its restricted queryset (never a row the person could not list), and the search
is a consultation: it needs a reason, and is logged once through the audit log with a commitment to what was asked
and the ids shown of each kind (subjects found by the gallery's own search filter).
The form POSTs, as the subject search does, so a name searched for never travels in an address.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from apps.audit import services as audit
from apps.audit.access import MIN_REASON_LENGTH, reason_from, valid_reason
from apps.deployments.models import Deployment
from apps.disclosures.models import DisclosureCase
from apps.matching.models import SearchRequest
from apps.watchlists.filtersets import SubjectFilterSet
from apps.watchlists.models import Subject, Watchlist
from govern import navigation, policy

SHOWN = 20  # of each kind: a search is for finding one record, not for listing
MAX_QUERY = 100


def _references(user, text: str) -> dict[str, list]:
    """Watchlists, deployments, Sarah's Law cases and retrospective searches whose reference (or place, or
    incident reference) holds `text`, each as its person may list them."""
    found = {}
    if policy.may(user, "watchlists.view_watchlist"):
        found["watchlists"] = Watchlist.objects.restrict(user, "view").filter(reference__icontains=text)
    if policy.may(user, "deployments.view_deployment"):
        found["deployments"] = Deployment.objects.restrict(user, "view").filter(
            Q(reference__icontains=text) | Q(location_name__icontains=text)
        )
    if policy.may(user, "disclosures.view_disclosurecase"):
        found["cases"] = DisclosureCase.objects.restrict(user, "view").filter(reference__icontains=text)
    if policy.may(user, "matching.view_searchrequest"):
        found["searches"] = SearchRequest.objects.restrict(user, "view").filter(
            Q(reference__icontains=text) | Q(incident_reference__icontains=text)
        )
    return {kind: list(rows.order_by("-pk")[:SHOWN]) for kind, rows in found.items()}


@transaction.atomic
def search(user, text: str, reason: str) -> dict[str, list]:
    """Every kind of record `user` may see that matches `text`, the first SHOWN of each; logged as one consultation
    with a commitment to the text and the ids shown (subjects found as the gallery's own search finds them)."""
    if not any(policy.may(user, action) for action in navigation.SEARCH_ACTIONS):
        raise PermissionDenied("Your role reads none of the records the search finds.")
    found = _references(user, text)
    if policy.may(user, "watchlists.view_subject"):
        subjects = SubjectFilterSet({"q": text}, queryset=Subject.objects.restrict(user, "view"))
        if not subjects.is_valid():
            raise ValidationError(" ".join(str(error) for errors in subjects.errors.values() for error in errors))
        found["subjects"] = list(subjects.qs[:SHOWN])
    audit.record_access(
        ("govern.search", "site"),
        user,
        reason,
        data={
            "query": audit.commitment({"q": text}),
            "results": {kind: [row.pk for row in rows] for kind, rows in found.items()},
        },
    )
    return found


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def search_page(request):
    """The search's form and results: the header's box sends the text; the reason is asked for here."""
    if not any(policy.may(request.user, action) for action in navigation.SEARCH_ACTIONS):
        raise PermissionDenied("Your role reads none of the records the search finds.")
    text = request.POST.get("q", "").strip()[:MAX_QUERY] if request.method == "POST" else ""
    reason = reason_from(request) if request.method == "POST" else ""
    found, error, status = None, "", 200
    if text and not text.isprintable():
        error, status = "Search for printable text on one line.", 400
    elif text and reason:
        if not valid_reason(reason):
            error, status = f"Give a reason of at least {MIN_REASON_LENGTH} characters, on one line.", 400
        else:
            try:
                found = search(request.user, text, reason)
            except ValidationError as exc:
                error, status = " ".join(exc.messages), 400
    context = {"query": text, "reason": reason, "found": found, "error": error, "min_length": MIN_REASON_LENGTH}
    return render(request, "search.html", context, status=status)
