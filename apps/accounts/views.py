"""Pages: signing in, the role-aware home page."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from apps.audit.models import Checkpoint
from apps.audit.services import tree_size
from govern.roles import Role

from .forms import EnrolmentCodeForm, SecondFactorForm, SignInForm
from .services import two_factor

# What each role's dashboard offers, until each app brings its own queue; (title, url name, description).
DASHBOARD_LINKS = {
    Role.WATCHLIST_COMPILER: [
        ("Watchlists", "watchlists:list", "Compile a watchlist for a deployment and submit it for approval."),
        ("Subjects", "watchlists:subjects", "Search the custody image gallery; record a subject and their image."),
    ],
    Role.AUTHORISING_OFFICER: [
        ("Approval queue", "watchlists:list", "Watchlists awaiting your decision and urgent approvals to ratify."),
        ("Authorisation queue", "deployments:list", "Deployments awaiting authorisation, and those under way."),
        ("Schedule", "deployments:schedule", "Deployments by week or month."),
        ("Threshold and engine", "oversight:governance", "Propose a threshold or engine change with its evidence."),
    ],
    Role.RETAIL_PARTNER: [
        ("Submit CCTV stills", "matching:searches", "Send stills with an incident reference; follow their status."),
    ],
    Role.OFFICER: [
        ("Deployments", "deployments:list", "Plan a deployment, run the on-site checklist, record outcomes."),
        ("Sarah's Law cases", "disclosures:cases", "Public protection unit: disclosure cases by next deadline."),
        ("Retrospective search", "matching:searches", "Search stills against custody images; review candidates."),
        ("Schedule", "deployments:schedule", "Deployments by week or month."),
    ],
    Role.PRIVACY_OFFICER: [
        ("Oversight", "oversight:dashboard", "Deletion reconciliation, purges, retention, checkpoints, notifications."),
        ("Access log review", "oversight:access", "Consultations and disclosures, unusual reads flagged, exports."),
        ("Retention", "oversight:retention", "Policies per data class, evidential holds, the sweep."),
        ("Threshold and engine", "oversight:governance", "Countersign or reject proposed changes."),
        ("Sarah's Law cases", "disclosures:cases", "Audit disclosure cases: every read is logged."),
        ("Watchlists", "watchlists:list", "Every watchlist, its versions, approvals and history."),
        ("Audit log", "audit:events", "Every change, sign-in and consultation, with its proof."),
        ("Checkpoints", "audit:checkpoints", "Signed tree heads a regulator can verify."),
    ],
    Role.OVERSIGHT: [
        ("Oversight", "oversight:dashboard", "Reconciliation, purges, retention, equality, evidence bundles."),
        ("Sarah's Law statistics", "disclosures:statistics", "Applications, disclosures, days taken, overdue."),
        ("Checkpoints", "audit:checkpoints", "Signed tree heads and how to verify them."),
        ("Audit log", "audit:events", "Events with inclusion proofs."),
        ("Deployments", "deployments:list", "Every deployment and its gate."),
        ("Public records", "public-deployments", "What the public sees."),
    ],
    Role.ADMINISTRATOR: [
        ("Accounts", "admin:accounts_user_changelist", "Create accounts, set ranks and roles."),
        ("Account events", "audit:events", "Sign-ins and account changes."),
    ],
}


@login_required
@require_safe
def home(request):
    """Each role lands on its own dashboard."""
    sections = [{"role": role, "links": DASHBOARD_LINKS.get(role, [])} for role in Role if role in request.user.roles]
    context = {
        "sections": sections,
        "log_size": tree_size(),
        "latest_checkpoint": Checkpoint.objects.order_by("-tree_size").first(),
    }
    return render(request, "accounts/home.html", context)


class SignInView(auth_views.LoginView):
    """Username and password, refused while the username or the address is paused after repeated failures."""

    authentication_form = SignInForm
    redirect_authenticated_user = True


def _next_page(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    # A local path only: anything else ("9999-12-31", a bare word) would be taken for a URL name and answer 500.
    if wanted.startswith("/") and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return resolve_url("home")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """The sign-in's second step: the code from the person's authenticator app."""
    if not request.user.needs_second_factor or request.user.is_verified():
        return redirect(_next_page(request))
    if two_factor.confirmed_device(request.user) is None:
        return redirect("two-factor-enrol")
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.sign_in_second_factor(request, form.cleaned_data["otp_token"]):
            return redirect(_next_page(request))
        form.add_error("otp_token", "That code is not right, or was used already. Wait for the next one and retry.")
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": _next_page(request)})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request):
    """First sign-in of a role that needs a second factor: add Govern to an authenticator app, confirm a code."""
    if not request.user.needs_second_factor or request.user.is_verified():
        return redirect(_next_page(request))
    if two_factor.confirmed_device(request.user) is not None:
        return redirect("two-factor-verify")
    if two_factor.accepted_code(request) is None:
        return _enrolment_code_step(request)
    device = two_factor.pending_device(request.user)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.confirm_enrolment(request, device, form.cleaned_data["otp_token"]):
            return redirect(_next_page(request))
        form.add_error("otp_token", "That code is not right. Check the app shows Govern's entry and retry.")
    context = {
        "form": form,
        "next": _next_page(request),
        "otpauth_uri": device.config_url,
        "secret": two_factor.secret(device),
        "qr_code": two_factor.qr_code_data_url(device),
    }
    return render(request, "registration/two_factor_enrol.html", context)


def _enrolment_code_step(request):
    """Enrolment's first step: the administrator's one-time code, so a stolen password alone enrols nobody's phone."""
    form = EnrolmentCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refusal = two_factor.accept_enrolment_code(request, form.cleaned_data["enrolment_code"])
        if refusal is None:
            return redirect(f"{reverse('two-factor-enrol')}?{urlencode({'next': _next_page(request)})}")
        form.add_error("enrolment_code", refusal)
    context = {"form": form, "next": _next_page(request)}
    return render(request, "registration/two_factor_enrolment_code.html", context)
