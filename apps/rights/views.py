"""Pages of the requests desk: the list by due date (overdue first), logging a request, and the request itself with
the form for its next step. Reading a request is a logged consultation with a reason; a decision is two steps (the
choice, then what it will do, confirmed). Privacy officers work the desk; an officer may only log a request."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.audit.access import reason_required
from apps.watchlists.services import restriction
from govern import policy, tables
from govern.errors import Conflict
from govern.pages import confirmed, form_errors, perform

from . import selectors, services
from .choices import Decision, RefusalGround, RequestKind, RequestState
from .filtersets import RequestFilterSet
from .forms import DecisionForm, ExtensionForm, IdentityForm, LiftForm, LinkForm, LogRequestForm, ResponseForm
from .models import RightsRequest
from .tables import RequestTable


def _request(request, pk, *args, **kwargs) -> RightsRequest:
    """The request, for someone who may see the desk at all: others get 403 with the reason, not a 404."""
    policy.require(request.user, "rights.view_rightsrequest")
    return get_object_or_404(RightsRequest.objects.restrict(request.user, "view"), pk=pk)


@login_required
@require_safe
def request_list(request):
    """The desk: every request, the overdue first, then by due date; filtered, sorted, paged or as CSV. No names."""
    policy.require(request.user, "rights.view_rightsrequest")
    visible = RightsRequest.objects.restrict(request.user, "view").with_clocks()
    ordered = visible.order_by(F("is_overdue").desc(), "due_at", "id")
    listing = tables.Listing(request, RequestFilterSet(request.GET, queryset=ordered), RequestTable)
    if export := listing.export("requests"):
        return export
    context = listing.page(
        overdue=visible.filter(is_overdue=True).count(), may_log=policy.may(request.user, "rights.add_rightsrequest")
    )
    return render(request, "rights/list.html", context, status=listing.status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def request_log(request):
    """Log a request as it arrived (a privacy officer, or an officer at the front counter)."""
    policy.require(request.user, "rights.add_rightsrequest")
    form = LogRequestForm(
        request.POST or None, initial={"received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
    )
    if request.method == "POST" and form.is_valid():
        try:
            logged = services.log_request(request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, str(exc))
        else:
            due = timezone.localtime(logged.due_at).strftime("%d %B %Y")
            messages.success(request, f"{logged.reference} logged: the response is due by {due}.")
            if policy.may(request.user, "rights.view_rightsrequest"):
                return redirect("rights:request", pk=logged.pk)
            return redirect("home")  # an officer hands it to the desk and sees no more of it
    return render(request, "rights/log.html", {"form": form})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])  # POST: the reason form
@reason_required(_request)
def request_detail(request, pk, target, reason):
    """The request: who asked, for what, its clock, and the form for its next step."""
    row = selectors.request(request.user, target, reason)
    may_work = not row.is_closed and policy.may(request.user, "rights.change_rightsrequest", row)
    standing = restriction.standing(row.subject) if row.subject_id else None
    context = {
        "row": row,
        "reason": reason,
        "may_work": may_work,
        "may_link": may_work and row.state in (RequestState.RECEIVED, RequestState.VERIFIED),
        "may_lift": policy.may(request.user, "rights.decide_rightsrequest", row),
        "State": RequestState,
        "decide_refusal": policy.refusal(request.user, "rights.decide_rightsrequest", row),
        "standing": standing if standing and standing.request_reference == row.reference else None,
        "pack": row.kind == RequestKind.ACCESS and row.decision == Decision.GRANT,
        "link_form": LinkForm(),
        "identity_form": IdentityForm(),
        "extension_form": ExtensionForm(),
        "decision_form": DecisionForm(),
        "response_form": ResponseForm(),
        "lift_form": LiftForm(),
    }
    return render(request, "rights/request.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])  # POST: the reason form
@reason_required(_request)
def response_pack(request, pk, target, reason):
    """The access request's response pack, as a zip download: a logged disclosure."""
    built = selectors.response_pack(request.user, target, reason)
    answer = HttpResponse(built.content, content_type="application/zip")
    answer["Content-Disposition"] = f'attachment; filename="{target.reference}-response.zip"'
    return answer


def _link(request, row):
    form = LinkForm(request.POST)
    if not form.is_valid():
        raise ValidationError(form.errors.as_text())
    found = services.link_subject(request.user, row, **form.cleaned_data)
    (messages.success if found.matches == 1 else messages.warning)(request, found.message)


def _decision_confirmation(request, row, data: dict) -> dict:
    """What the decision will do, said before it is done."""
    kind = RequestKind(row.kind)
    if data["decision"] == Decision.GRANT:
        title = f"Grant {row.reference}: {kind.label.lower()}"
        what = {
            RequestKind.ACCESS: ["The response pack can then be produced for the person."],
            RequestKind.RECTIFICATION: ["A compiler then corrects the record as the person asks."],
            RequestKind.ERASURE: [
                "At once: the person's record, custody images, templates and history are erased, and every list "
                "holding them becomes a new version to approve. This cannot be undone."
            ],
            RequestKind.RESTRICTION: [
                "At once: the person cannot be put on any watchlist, no list holding them can be approved, and "
                "matching leaves their images out, until the restriction is lifted."
            ],
        }[kind]
    else:
        title = f"Refuse {row.reference}"
        ground = RefusalGround(data["refusal_ground"]).label if data["refusal_ground"] in RefusalGround.values else ""
        what = [f"Ground: {ground}." if ground else "No ground chosen: the refusal will be refused."]
    if data["note"]:
        what.append(f"Your note, recorded in the audit log under your name: \u201c{data['note']}\u201d.")
    if data["convicted"] is not None:
        what.append("Recorded: the person was " + ("convicted." if data["convicted"] else "not convicted."))
    if data["presumption_reasons"]:
        what.append(f"Why the presumption of deletion does not hold: \u201c{data['presumption_reasons']}\u201d.")
    convicted = {True: "yes", False: "no", None: ""}[data["convicted"]]
    fields = [("decision", data["decision"]), ("refusal_ground", data["refusal_ground"]), ("note", data["note"])]
    fields += [("convicted", convicted), ("presumption_reasons", data["presumption_reasons"])]
    back = reverse("rights:request", args=[row.pk])
    return {"title": title, "what": what, "fields": fields, "button": "Confirm the decision", "back": back,
            "action": reverse("rights:act", args=[row.pk, "decide"])}  # fmt: skip


def _decide(request, row):
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to grant or refuse the request (and, to refuse, the ground).")
        return redirect("rights:request", pk=row.pk)
    # The confirmation only where the decision could be made; otherwise the service's refusal, as a message.
    may_decide = policy.may(request.user, "rights.decide_rightsrequest", row) and row.state == RequestState.VERIFIED
    if may_decide and not confirmed(request):
        confirm = _decision_confirmation(request, row, form.cleaned_data)
        return render(request, "rights/decide_confirm.html", {"row": row, "confirm": confirm})
    perform(request, lambda: services.decide(request.user, row, **form.cleaned_data), "Decision recorded.")
    return redirect("rights:request", pk=row.pk)


# Each button: (form, service, what to say when done).
ACTIONS = {
    "identity": (IdentityForm, services.check_identity, "Identity check recorded."),
    "extend": (ExtensionForm, services.extend, "Time limit extended."),
    "respond": (ResponseForm, services.respond, "Response recorded; the request is closed."),
    "lift-restriction": (LiftForm, services.lift_restriction, "Restriction lifted."),
}


@login_required
@require_POST
def request_act(request, pk, act):
    """One step on the request: the same services as the API; refusals come back as messages."""
    row = _request(request, pk)
    if act == "decide":
        return _decide(request, row)
    if act == "link":
        try:
            _link(request, row)
        except policy.RoleRefused:
            raise
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except (PermissionDenied, Conflict) as exc:
            messages.error(request, str(exc))
        return redirect("rights:request", pk=row.pk)
    if act not in ACTIONS:
        raise Http404("No such action.")
    form_class, service, success = ACTIONS[act]
    form = form_class(request.POST)
    if form.is_valid():
        perform(request, lambda: service(request.user, row, **form.cleaned_data), success)
    else:
        messages.error(request, " ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()))
    return redirect("rights:request", pk=row.pk)
