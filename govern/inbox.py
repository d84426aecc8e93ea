"""The home page: each role's inbox, counted from the records through the same restricted querysets as the lists.

It reads every domain app, so it sits in the project's shell (like govern/urls.py), above the apps: no app imports
it. An item counts only rows its person could list (`Model.objects.restrict(user, verb)`), and is shown only when
the person may open the page it links to (the page's own rule, as in govern/navigation.py).
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from apps.accounts.choices import AccountChangeState
from apps.accounts.models import AccountChange
from apps.audit.models import Checkpoint
from apps.audit.services import tree_size
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment
from apps.disclosures.choices import ExtensionState
from apps.disclosures.models import DisclosureCase, Extension
from apps.matching.choices import AlertState, SearchState
from apps.matching.models import Alert, SearchRequest
from apps.oversight import reconciliation
from apps.oversight.choices import ChangeState
from apps.oversight.models import GovernedChange, Notification
from apps.rights.choices import NEAR_DUE_DAYS
from apps.rights.models import RightsRequest
from apps.watchlists.choices import ApprovalRoute, WatchlistState
from apps.watchlists.models import Watchlist
from govern import navigation, policy
from govern.roles import Role


@dataclass(frozen=True)
class Item:
    """One line of a role's inbox: how many records await, and the list that shows them."""

    label: str
    url_name: str
    action: str  # the linked page's rule: the item is shown only to whoever may open it
    count: Callable  # (user, now) -> int, through the restricted queryset of the rows the page lists
    query: tuple = ()  # the list's filter, as (name, value) pairs
    needs: str | None = None  # a further rule the work itself needs (deciding, authorising)

    def url(self) -> str:
        return reverse(self.url_name) + (f"?{urlencode(self.query)}" if self.query else "")


def _watchlists(user, **match) -> int:
    return Watchlist.objects.restrict(user, "view").filter(**match).count()


def _deployments(user, now, *states) -> int:
    return Deployment.objects.restrict(user, "view").filter(state__in=states, end__gt=now).count()


def _searches(user, *states) -> int:
    return SearchRequest.objects.restrict(user, "view").filter(state__in=states).count()


def _proposed_changes(user, now) -> int:
    return GovernedChange.objects.restrict(user, "view").filter(state=ChangeState.PROPOSED).count()


def _requests_due_soon(user, now) -> int:
    """Open requests not yet overdue whose month runs out within NEAR_DUE_DAYS."""
    soon = now + datetime.timedelta(days=NEAR_DUE_DAYS)
    return RightsRequest.objects.restrict(user, "view").open().filter(due_at__gte=now, due_at__lt=soon).count()


def _requests_overdue(user, now) -> int:
    return RightsRequest.objects.restrict(user, "view").with_clocks(now).filter(is_overdue=True).count()


def _red_ledgers(user, now) -> int:
    return sum(1 for ledger in reconciliation.ledgers() if not ledger.reconciles)


_UNDER_WAY = (DeploymentState.AUTHORISED, DeploymentState.LIVE, DeploymentState.SUSPENDED)

INBOX = {
    Role.WATCHLIST_COMPILER: [
        Item("Drafts to finish", "watchlists:list", "watchlists.view_watchlist",
             lambda user, now: _watchlists(user, state=WatchlistState.DRAFT, compiled_by=user),
             (("state", WatchlistState.DRAFT),)),
        Item("Watchlists returned for changes", "watchlists:list", "watchlists.view_watchlist",
             lambda user, now: _watchlists(user, state=WatchlistState.RETURNED, compiled_by=user),
             (("state", WatchlistState.RETURNED),)),
        Item("Your watchlists awaiting approval", "watchlists:list", "watchlists.view_watchlist",
             lambda user, now: _watchlists(user, state=WatchlistState.SUBMITTED, compiled_by=user),
             (("state", WatchlistState.SUBMITTED),)),
    ],
    Role.AUTHORISING_OFFICER: [
        Item("Approval queue: watchlists awaiting your decision", "watchlists:list", "watchlists.view_watchlist",
             lambda user, now: _watchlists(user, state=WatchlistState.SUBMITTED),
             (("state", WatchlistState.SUBMITTED),), "watchlists.approve_watchlist"),
        Item("Urgent approvals to ratify", "watchlists:list", "watchlists.view_watchlist",
             lambda user, now: _watchlists(user, state=WatchlistState.APPROVED, approval_route=ApprovalRoute.URGENT,
                                           ratified_at__isnull=True),
             (("state", WatchlistState.APPROVED),), "watchlists.ratify_watchlist"),
        Item("Authorisation queue: deployments to authorise", "deployments:list", "deployments.view_deployment",
             lambda user, now: _deployments(user, now, DeploymentState.PLANNED),
             (("state", DeploymentState.PLANNED),), "deployments.authorise_deployment"),
        Item("Deployments authorised, live or suspended", "deployments:list", "deployments.view_deployment",
             lambda user, now: _deployments(user, now, *_UNDER_WAY),
             tuple(("state", state) for state in _UNDER_WAY)),
    ],
    Role.OFFICER: [
        Item("Deployments authorised, live or suspended", "deployments:list", "deployments.view_deployment",
             lambda user, now: _deployments(user, now, *_UNDER_WAY),
             tuple(("state", state) for state in _UNDER_WAY)),
        Item("Searches with candidates to review", "matching:searches", "matching.view_searchrequest",
             lambda user, now: _searches(user, SearchState.READY), (("state", SearchState.READY),),
             "matching.review_probe"),
        Item("Sarah's Law cases past a deadline", "disclosures:cases", "disclosures.view_disclosurecase",
             lambda user, now: DisclosureCase.objects.restrict(user, "view").overdue(now).count(),
             (("overdue", "true"),)),
        Item("Sarah's Law extensions awaiting a supervisor", "disclosures:cases", "disclosures.view_disclosurecase",
             lambda user, now: Extension.objects.restrict(user, "view").filter(state=ExtensionState.REQUESTED).count(),
             (), "disclosures.decide_extension"),
    ],
    Role.RETAIL_PARTNER: [
        Item("Searches queued or running", "matching:searches", "matching.view_searchrequest",
             lambda user, now: _searches(user, SearchState.QUEUED, SearchState.RUNNING)),
        Item("Searches done, with the police to review", "matching:searches", "matching.view_searchrequest",
             lambda user, now: _searches(user, SearchState.READY), (("state", SearchState.READY),)),
    ],
    Role.PRIVACY_OFFICER: [
        Item("Findings to resolve", "oversight:dashboard", "oversight.view_dashboard",
             lambda user, now: Notification.objects.restrict(user, "view").filter(resolved_at__isnull=True).count(),
             (), "oversight.view_notification"),
        Item("Threshold and engine changes to countersign", "oversight:governance", "oversight.view_governedchange",
             _proposed_changes, (), "oversight.countersign_governedchange"),
        Item("Deployments whose deletions do not reconcile", "oversight:dashboard", "oversight.view_dashboard",
             _red_ledgers),
        Item("Sarah's Law cases past a deadline", "disclosures:cases", "disclosures.view_disclosurecase",
             lambda user, now: DisclosureCase.objects.restrict(user, "view").overdue(now).count(),
             (("overdue", "true"),)),
        Item("Data-subject requests past their time limit", "rights:requests", "rights.view_rightsrequest",
             _requests_overdue, (("overdue", "true"),)),
        Item(f"Data-subject requests due within {NEAR_DUE_DAYS} days", "rights:requests", "rights.view_rightsrequest",
             _requests_due_soon, (("overdue", "false"),)),
    ],
    Role.OVERSIGHT: [
        Item("Deployments whose deletions do not reconcile", "oversight:dashboard", "oversight.view_dashboard",
             _red_ledgers),
        Item("Threshold and engine changes awaiting countersignature", "oversight:governance",
             "oversight.view_governedchange", _proposed_changes),
    ],
    Role.ADMINISTRATOR: [
        Item("Account changes awaiting a second administrator", "admin:accounts_user_changelist", "accounts.view_user",
             lambda user, now: AccountChange.objects.restrict(user, "view")
             .filter(state=AccountChangeState.PENDING).count(),
             (), "accounts.view_accountchange"),
    ],
}  # fmt: skip


def _offered(user, item: Item) -> bool:
    return policy.may(user, item.action) and (item.needs is None or policy.may(user, item.needs))


def pending_alerts(user) -> list[dict]:
    """The deployments with alerts awaiting adjudication that `user` may see, with how many, most first."""
    if not policy.may(user, "matching.view_alert"):
        return []
    rows = (
        Alert.objects.restrict(user, "view")
        .filter(state=AlertState.PENDING)
        .values("deployment", "deployment__reference", "deployment__location_name")
        .annotate(waiting=Count("id"))
        .order_by("-waiting", "deployment")
    )
    return [
        {
            "reference": row["deployment__reference"],
            "place": row["deployment__location_name"],
            "waiting": row["waiting"],
            "url": reverse("matching:alerts", args=[row["deployment"]]),
        }
        for row in rows
    ]


def inbox(user, now=None) -> list[dict]:
    """Each of the user's roles with its items and their counts, in the order roles are declared."""
    now = now or timezone.now()
    sections = []
    for role in Role:
        if role not in user.roles:
            continue
        items = [
            {"label": item.label, "url": item.url(), "count": item.count(user, now)}
            for item in INBOX.get(role, [])
            if _offered(user, item)
        ]
        sections.append({"role": role, "items": items})
    return sections


@login_required
@require_safe
def home(request):
    """Each role lands on its inbox: what awaits them, counted from the records they may list."""
    user = request.user
    alerts = pending_alerts(user)
    context = {
        "sections": inbox(user),
        "alerts": alerts,
        "alerts_waiting": sum(row["waiting"] for row in alerts),
        "pages": [entry for entry in navigation.offered(user) if entry.url_name != "home"],
        "log_size": tree_size(),
        "latest_checkpoint": Checkpoint.objects.order_by("-tree_size").first(),
    }
    return render(request, "accounts/home.html", context)
