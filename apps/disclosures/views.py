"""Pages: the officers' case list by next deadline, the case stage by stage, the forum, the disclosure, letters.

Every page that shows a case's personal data is a logged consultation with a reason (the page asks for one, and
remembers it for a few minutes so the case's sub-pages log each read with it). Officers outside the public
protection unit are refused with the reason, before anything is read. A completed case shows no form.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.audit.access import reason_required
from apps.matching.models import Alert
from govern import policy, tables
from govern.errors import Conflict
from govern.pages import form_errors, perform

from . import permissions, selectors, services, statistics
from .choices import Stage
from .filtersets import CaseFilterSet
from .forms import (
    CheckForm,
    ChildForm,
    DisclosureForm,
    ExtensionDecisionForm,
    ExtensionForm,
    ForumDecisionForm,
    MeetingForm,
    OpenCaseForm,
    RiskAssessmentForm,
    UndertakingForm,
)
from .models import DisclosureCase, Extension
from .tables import CaseTable


def _case(request, pk, *args, **kwargs) -> DisclosureCase:
    """The case, for someone who may see cases at all: others get 403 with the reason, not a 404."""
    policy.require(request.user, "disclosures.view_disclosurecase")
    return get_object_or_404(DisclosureCase.objects.restrict(request.user, "view"), pk=pk)


def _may_work(request, case) -> bool:
    return not case.is_completed and policy.may(request.user, "disclosures.change_disclosurecase", case)


@login_required
@require_safe
def case_list(request):
    """The officers' cases, the next deadline first (then the completed, the latest first), filtered, sorted and
    paged (or as CSV); overdue ones flagged. No personal data is shown here."""
    policy.require(request.user, "disclosures.view_disclosurecase")
    now = timezone.now()
    visible = DisclosureCase.objects.restrict(request.user, "view").select_related("officer_in_charge").with_clocks(now)
    ordered = visible.order_by(F("next_due").asc(nulls_last=True), "-completed_at")
    listing = tables.Listing(request, CaseFilterSet(request.GET, queryset=ordered), CaseTable)
    if export := listing.export("cases"):
        return export
    context = listing.page(
        overdue=visible.filter(is_overdue=True).count(),
        may_open=policy.may(request.user, "disclosures.add_disclosurecase"),
    )
    return render(request, "disclosures/list.html", context, status=listing.status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def case_open(request):
    """First contact: open a case."""
    policy.require(request.user, "disclosures.add_disclosurecase")
    form = OpenCaseForm(
        request.POST or None,
        initial={"officer_in_charge": request.user.pk, "contact_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            case = services.open_case(request.user, **form.service_arguments())
        except ValidationError as exc:
            form_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{case.reference} opened. The checks are due within 24 hours.")
            return redirect("disclosures:case", pk=case.pk)
    return render(request, "disclosures/open.html", {"form": form})


def _context(request, case, reason) -> dict:
    case = selectors.case(request.user, case, reason)
    may_work = _may_work(request, case)
    return {
        "case": case,
        "reason": reason,
        "deadlines": case.deadlines(),
        "may_work": may_work,
        "Stage": Stage,
        "presumption": services.presumption_applies(case),
        "disclosure": getattr(case, "disclosure", None),
        "decisions": case.decisions.select_related("recorded_by"),
        "letters": case.letters.all(),
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])  # POST: the reason form; never OPTIONS or TRACE rendering the case
@reason_required(_case)
def case_detail(request, pk, target, reason):
    """The case, stage by stage, with the form for the next step when the user works cases."""
    case = target
    context = _context(request, case, reason)
    supervisor = permissions.is_supervisor(request.user)
    context.update(
        {
            "children": case.children.all(),
            "checks": case.checks.select_related("made_by"),
            "extensions": case.extensions.select_related("requested_by", "decided_by"),
            "pending_extensions": [
                (extension, policy.refusal(request.user, "disclosures.decide_extension", extension))
                for extension in case.extensions.filter(state="requested")
            ]
            if supervisor and not case.is_completed
            else [],
            "child_form": ChildForm(),
            "check_form": CheckForm(),
            "meeting_form": MeetingForm(),
            "risk_form": RiskAssessmentForm(),
            "extension_form": ExtensionForm(),
            "may_assess": case.stage == Stage.MET or (case.stage == Stage.CHECKED and not case.needs_meeting),
        }
    )
    return render(request, "disclosures/case.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])  # POST: the reason form; never OPTIONS or TRACE rendering the case
@reason_required(_case)
def forum(request, pk, target, reason):
    """The decision forum's record: each decision, who sat, the rationale; the form when a decision is due."""
    context = _context(request, target, reason)
    context["form"] = ForumDecisionForm(initial={"necessary_and_proportionate": False})
    context["due"] = target.stage in (Stage.ASSESSED, Stage.RETURNED)
    return render(request, "disclosures/forum.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])  # POST: the reason form; never OPTIONS or TRACE rendering the case
@reason_required(_case)
def disclosure(request, pk, target, reason):
    """The disclosure with the undertaking: recipient, warning, signature or refusal, what was said."""
    context = _context(request, target, reason)
    initial = {}
    if target.applicant_name:
        initial = {
            "recipient_name": target.applicant_name,
            "recipient_relationship": target.applicant_relationship,
            "recipient_is_applicant": True,
        }
    context["undertaking_form"] = UndertakingForm(initial=initial)
    context["disclosure_form"] = DisclosureForm(initial={"in_person": True})
    return render(request, "disclosures/disclosure.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])  # POST: the reason form; never OPTIONS or TRACE rendering the case
@reason_required(_case)
def letter(request, pk, target, reason):
    """The letter: as issued (locked), or a draft from its template with the button that issues it."""
    printed = request.GET.get("print", "")
    if printed.isdigit():  # the issued letter alone, for printing and posting
        target = selectors.case(request.user, target, reason)
        issued = get_object_or_404(target.letters, pk=int(printed))
        return render(request, "disclosures/letter_print.html", {"letter": issued, "case": target})
    context = _context(request, target, reason)
    draft = None
    kind = services.LETTER_FOR_STAGE.get(target.stage)
    if kind is not None and context["may_work"]:
        draft = services.render_letter(target, kind, issued_by=request.user, issued_at=timezone.now())
    context["draft"] = draft
    return render(request, "disclosures/letter.html", context)


# Each button: (form, service, the page to return to, what to say when done). No name may be a page's ("forum").
ACTIONS = {
    "child": (ChildForm, services.add_child, "case", "Child recorded."),
    "check": (CheckForm, services.record_check, "case", "Check recorded."),
    "complete-checks": (None, services.complete_checks, "case", "Checks completed."),
    "meeting": (MeetingForm, services.record_meeting, "case", "Meeting recorded."),
    "risk-assessment": (RiskAssessmentForm, services.record_risk_assessment, "case", "Risk assessment recorded."),
    "forum-decision": (ForumDecisionForm, services.record_forum_decision, "forum", "Forum decision recorded."),
    "undertaking": (UndertakingForm, services.record_undertaking, "disclosure", "Undertaking recorded."),
    "disclose": (DisclosureForm, services.record_disclosure, "disclosure", "Disclosure recorded."),
    "issue-letter": (None, services.issue_letter, "letter", "Letter issued; the case is completed and locked."),
    "extension": (ExtensionForm, services.request_extension, "case", "Extension requested from a supervisor."),
}


def _decide_extension(request, case):
    form = ExtensionDecisionForm(request.POST)
    if not form.is_valid():
        raise ValidationError(form.errors.as_text())
    extension = get_object_or_404(Extension, pk=form.cleaned_data["extension"], case=case)
    return services.decide_extension(
        request.user, extension, approve=form.cleaned_data["approve"], note=form.cleaned_data["note"]
    )


@login_required
@require_POST
def case_act(request, pk, act):
    """One step on the case: the same services as the API; refusals come back as messages."""
    case = _case(request, pk)
    if act == "decide-extension":
        perform(request, lambda: _decide_extension(request, case), "Extension decided.")
        return redirect("disclosures:case", pk=case.pk)
    if act not in ACTIONS:
        raise Http404("No such action.")
    form_class, service, page, success = ACTIONS[act]
    if form_class is None:
        perform(request, lambda: service(request.user, case), success)
    else:
        form = form_class(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            perform(request, lambda: service(request.user, case, **data), success)
        else:
            messages.error(request, " ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()))
    return redirect(f"disclosures:{page}", pk=case.pk)


@login_required
@require_POST
def open_from_alert(request, alert_pk):
    """Right to be told from an adjudicated alert: one action opens the cross-referenced case."""
    policy.require(request.user, "disclosures.add_disclosurecase")
    alert = get_object_or_404(Alert.objects.restrict(request.user, "view"), pk=alert_pk)
    try:
        case = services.open_from_alert(request.user, alert)
    except (ValidationError, Conflict, PermissionDenied) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        return redirect("matching:alerts", pk=alert.deployment_id)
    messages.success(request, f"{case.reference} opened from alert {alert.pk}. The checks are due within 24 hours.")
    return redirect("disclosures:case", pk=case.pk)


@login_required
@require_safe
def statistics_page(request):
    """The force's figures: applications, disclosures, non-disclosures, average days, overdue; charts in SVG."""
    policy.require(request.user, "disclosures.view_statistics")
    figures = statistics.figures()
    context = {"figures": figures, "monthly": statistics.monthly_chart(), "stages": statistics.stage_chart()}
    return render(request, "disclosures/statistics.html", context)
