"""Pages: the role-aware home page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.audit.models import Checkpoint
from apps.audit.services import tree_size

from .choices import Role

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
