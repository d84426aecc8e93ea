"""The site's menu: one registry of the pages a person may go to, each with the permission rule its view checks.

The menu on every page, the home page's links and the breadcrumbs are all drawn from DESTINATIONS, and an entry is
shown only when `policy.may(user, entry.action)` holds: the same rule the view's `policy.require` (or `may`) checks,
so the menu never offers a page that answers 403. tests/accounts/test_navigation.py holds each entry to its view.

Part of the kernel side of the layers: it names pages by URL name and rules by action, and imports no app.
"""

from dataclasses import dataclass

from django.urls import reverse

from govern import policy


@dataclass(frozen=True)
class Destination:
    """One page the menu may offer."""

    label: str
    url_name: str
    action: str | None  # the rule the page's view requires; None: any signed-in person may open it
    description: str
    in_menu: bool = True  # False: offered on the home page and in breadcrumbs, not in the top menu

    @property
    def url(self) -> str:
        return reverse(self.url_name)


DESTINATIONS = [
    Destination("Home", "home", None, "Your inbox: what awaits you."),
    Destination(
        "Watchlists", "watchlists:list", "watchlists.view_watchlist", "Compile, approve and follow watchlists."
    ),
    Destination(
        "Subjects", "watchlists:subjects", "watchlists.view_subject", "Find a subject by name or PNC ID; record one."
    ),
    Destination(
        "Deployments", "deployments:list", "deployments.view_deployment", "Plan, authorise and run deployments."
    ),
    Destination(
        "Schedule", "deployments:schedule", "deployments.view_deployment", "Deployments by week or month.", False
    ),
    Destination(
        "Vans and cameras",
        "deployments:assets",
        "deployments.view_asset",
        "The register of vans and cameras, their bookings and camera credentials.",
        False,
    ),
    Destination(
        "Policy documents",
        "deployments:documents",
        "deployments.view_policydocument",
        "DPIA, equality impact assessment, appropriate policy document: versions, approval, review dates.",
        False,
    ),
    Destination(
        "Figures",
        "matching:figures",
        "matching.view_figures",
        "Faces, alerts, false alerts and deletion receipts per deployment and month, drawn and tabled.",
        False,
    ),
    Destination(
        "Searches", "matching:searches", "matching.view_searchrequest", "Retrospective searches of CCTV stills."
    ),
    Destination(
        "Sarah's Law",
        "disclosures:cases",
        "disclosures.view_disclosurecase",
        "Disclosure cases by next deadline; every read is logged.",
    ),
    Destination(
        "Sarah's Law statistics",
        "disclosures:statistics",
        "disclosures.view_statistics",
        "Applications, disclosures, days taken, overdue.",
        False,
    ),
    Destination(
        "Requests",
        "rights:requests",
        "rights.view_rightsrequest",
        "Data-subject requests (access, rectification, erasure, restriction) by due date; every read is logged.",
    ),
    Destination(
        "Log a data-subject request",
        "rights:log",
        "rights.add_rightsrequest",
        "A request for access, rectification, erasure or restriction handed in: its month starts on receipt.",
        False,
    ),
    Destination(
        "Oversight",
        "oversight:dashboard",
        "oversight.view_dashboard",
        "Deletion reconciliation, purges, retention, checkpoints, findings.",
    ),
    Destination(
        "Access log",
        "oversight:access",
        "oversight.view_accesslog",
        "Consultations and disclosures, unusual reads flagged, exports.",
    ),
    Destination(
        "Retention",
        "oversight:retention",
        "oversight.view_retentionpolicy",
        "Policies per data class, evidential holds, the sweep.",
        False,
    ),
    Destination(
        "Threshold and engine",
        "oversight:governance",
        "oversight.view_governedchange",
        "Proposed and countersigned threshold and engine changes.",
        False,
    ),
    Destination(
        "Equality",
        "oversight:equality",
        "oversight.view_dashboard",
        "Alerts and false alerts by group, with their uncertainty.",
        False,
    ),
    Destination(
        "Misidentifications",
        "oversight:misidentifications",
        "oversight.review_misidentifications",
        "False alerts acted on, for review.",
        False,
    ),
    Destination(
        "Offline verifier",
        "oversight:verifier",
        "oversight.export_bundle",
        "The script that checks an evidence bundle without trusting Govern.",
        False,
    ),
    Destination("Audit log", "audit:events", "audit.view_event", "Every change, sign-in and consultation."),
    Destination(
        "Checkpoints",
        "audit:checkpoints",
        "audit.view_checkpoint",
        "Signed tree heads a regulator can verify.",
        False,
    ),
    Destination("Accounts", "admin:accounts_user_changelist", "accounts.view_user", "Create accounts; set roles."),
    Destination("Public records", "public", None, "What the public sees.", False),
]


def offered(user) -> list[Destination]:
    """The destinations `user` may open, in menu order."""
    if user is None or not user.is_authenticated:
        return []
    return [entry for entry in DESTINATIONS if entry.action is None or policy.may(user, entry.action)]


def _section(path: str, entries: list[Destination]) -> Destination | None:
    """The entry whose page is the longest prefix of `path` (Home only for the home page itself)."""
    matches = [entry for entry in entries if path == entry.url or (entry.url != "/" and path.startswith(entry.url))]
    return max(matches, key=lambda entry: len(entry.url), default=None)


def _app(entry: Destination) -> str:
    return entry.url_name.partition(":")[0] if ":" in entry.url_name else ""


def menu(request) -> dict:
    """Template context: `menu` (the top menu, the current section marked), `destinations` (every page offered),
    `section` (the offered page the current one sits under, for breadcrumbs) and `section_pages` (the offered pages
    of the current section's app, for a page's own sub-menu)."""
    user = getattr(request, "user", None)
    entries = offered(user)
    current = _section(request.path, entries)
    top = [entry for entry in entries if entry.in_menu]
    return {
        "menu": [{"entry": entry, "current": entry == current} for entry in top],
        "destinations": entries,
        "section": current,
        "section_pages": [entry for entry in entries if current and _app(entry) == _app(current)],
        "may_search": any(policy.may(user, action) for action in SEARCH_ACTIONS) if entries else False,
    }


# Who gets the search box: whoever may read one of the kinds of record the search finds (govern/search.py).
SEARCH_ACTIONS = (
    "watchlists.view_subject",
    "watchlists.view_watchlist",
    "deployments.view_deployment",
    "disclosures.view_disclosurecase",
    "matching.view_searchrequest",
)
