"""The permission matrix, declared: for every route and every method it answers, which callers get through.

Written by hand from what each role is for (ARCHITECTURE.md, "Who uses it"), never computed from the permission
policy: it is an independent statement, so a change of the policy, a view or a scope that nobody meant fails
tests/security/test_permission_matrix.py. A key is a route with its parameters as {name}; a route that takes an
action or a file name (`{act}`, `{which}`) has one key per value.

How the matrix reads a response:

- allowed: the caller got past every role and object check: a 2xx, a redirect that is not to a sign-in page, or a
  refusal of the request itself once the role check passed (400, 409, 410, 412, 413, 415). A page shows the refusal
  of an object check (not this deployment's planner, say) as a message after a redirect: that is "allowed" here,
  and the API's 403 for the same refusal is "refused";
- refused: 401 or 403, or a redirect to a sign-in page (anonymous on the pages, anyone but an administrator on the
  admin site);
- hidden: 404: the object exists but is not the caller's to see (`hidden`: an officer who is not on a deployment's
  team and its alerts, a token that is someone else's);
- not answered: 405. A method a route does not declare must be refused or not answered, whoever asks.

A route that reads personal data is declared `consulting(read, access)`: every 2xx answer to its reading methods
leaves exactly one consultation event (DPA 2018 s.62), and the routes of the same read (a page and its API) log it
alike, the same kind of record with the same data, because both call the same selector.

The callers: anonymous; one account per role (the officer is a sergeant of the public protection unit who is on the
live deployment's team and planned it); an officer of another unit who is on no team; a signed-in account with no
role; and, for the two capture endpoints, a camera with its credential.
"""

from dataclasses import dataclass, field, replace

ANONYMOUS = "anonymous"
OFFICER = "officer"  # public protection unit, sergeant, on the live deployment's team, its planner
OTHER_UNIT = "other_unit"  # an officer of a response team: on no deployment's team, not of the unit
COMPILER = "compiler"
COMMANDER = "commander"  # authorising officer, superintendent
PRIVACY = "privacy"
OVERSIGHT = "oversight"
RETAIL = "retail"
ADMIN = "admin"
NO_ROLE = "no_role"
CAMERA = "camera"  # a van's camera credential: only the capture endpoints know it

CALLERS = (ANONYMOUS, OFFICER, OTHER_UNIT, COMPILER, COMMANDER, PRIVACY, OVERSIGHT, RETAIL, ADMIN, NO_ROLE)

ANYONE = frozenset(CALLERS)
SIGNED_IN = ANYONE - {ANONYMOUS}
WITH_A_ROLE = SIGNED_IN - {NO_ROLE}
OFFICERS = frozenset({OFFICER, OTHER_UNIT})
UNIT = frozenset({OFFICER})  # the public protection unit works Sarah's Law cases

# What each role is for, as sets of callers.
AUDIT_READERS = frozenset({PRIVACY, OVERSIGHT, ADMIN})  # an administrator reads the account events only
LIST_READERS = OFFICERS | {COMPILER, COMMANDER, PRIVACY}  # which watchlists exist (officers plan deployments)
LISTED_READERS = frozenset({COMPILER, COMMANDER, PRIVACY})  # who is on a list: entries and reviews
GALLERY = frozenset({COMPILER, COMMANDER})  # subjects and custody images
DEPLOYMENT_READERS = OFFICERS | {COMPILER, COMMANDER, PRIVACY, OVERSIGHT}
PLANNERS = OFFICERS | {COMPILER}
PLAN_EDITORS = PLANNERS | {COMMANDER}
ON_SITE = OFFICERS | {COMMANDER}  # the run buttons' callers (a refusal there is a message on the page)
TEAM = frozenset({OFFICER})  # the live deployment's planner and team: who changes, prepares and runs it
STOPPERS = frozenset({COMMANDER, PRIVACY})  # the emergency stop: one deployment, or all of the force's
ASSET_READERS = OFFICERS | {COMPILER, COMMANDER, PRIVACY}
DOCUMENT_WRITERS = frozenset({COMMANDER, PRIVACY})  # the DPO writes a DPIA too; another commander approves it
ALERT_READERS = OFFICERS | {COMMANDER, PRIVACY}  # the alert endpoints; an officer sees their team's alerts only
TEAM_ALERTS = frozenset({OFFICER, COMMANDER, PRIVACY})  # one deployment's alerts: its team, commanders, privacy
SEARCH_READERS = OFFICERS | {PRIVACY, RETAIL}  # a retail partner sees its own submissions' status
SEARCHERS = OFFICERS | {RETAIL}
CANDIDATE_READERS = OFFICERS | {PRIVACY}  # candidates are for trained police operators (and audit)
CASE_READERS = UNIT | {PRIVACY}
STATISTICS_READERS = UNIT | {PRIVACY, OVERSIGHT}
OVERSEERS = frozenset({PRIVACY, OVERSIGHT})
GOVERNANCE_READERS = OVERSEERS | {COMMANDER}  # retention policies, threshold and engine changes
DESK = frozenset({PRIVACY})  # the data-subject requests desk (another privacy officer logged the request)
REQUEST_LOGGERS = OFFICERS | {PRIVACY}  # any officer may log a request handed in at the counter

EVERY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class Access:
    """Who gets through on each method a route answers; everyone else is refused, or told 404 if `hidden`."""

    methods: dict[str, frozenset[str]]
    hidden: frozenset[str] = field(default_factory=frozenset)
    consults: frozenset[str] = field(default_factory=frozenset)  # methods whose 2xx answer is one consultation
    read: str = ""  # the read of personal data it makes, named alike on every surface that makes it

    def expected(self, method: str, caller: str) -> set[str]:
        """The outcomes a declared method may have for the caller (a 405 refuses as well as a 403 does)."""
        if caller in self.methods[method]:
            return {"allowed"}
        return {"hidden"} if caller in self.hidden else {"refused", "not answered"}


def _access(hidden=(), **methods) -> Access:
    return Access({name: frozenset(callers) for name, callers in methods.items()}, frozenset(hidden))


def page(readers, *, post=None, hidden=()) -> Access:
    """A page (GET and HEAD), with its form's POST when it has one."""
    methods = {"GET": readers, "HEAD": readers}
    if post is not None:
        methods["POST"] = post
    return _access(hidden, **methods)


def form(users, hidden=()) -> Access:
    """A page with a form, for the same callers."""
    return page(users, post=users, hidden=hidden)


def button(actors, hidden=()) -> Access:
    """A page's button: POST only."""
    return _access(hidden, POST=actors)


def any_method(readers, *, post=None) -> Access:
    """A page with no method restriction: every method renders it (POST submits its form, where it has one)."""
    methods = dict.fromkeys(EVERY_METHOD, readers)
    methods["POST"] = readers if post is None else post
    return _access(**methods)


def api(readers, *, post=None, put=None, patch=None, delete=None, hidden=()) -> Access:
    """An API endpoint: reads (and OPTIONS) for `readers`, each write for its own callers."""
    methods = {"GET": readers, "HEAD": readers, "OPTIONS": readers}
    for name, callers in (("POST", post), ("PUT", put), ("PATCH", patch), ("DELETE", delete)):
        if callers is not None:
            methods[name] = callers
    return _access(hidden, **methods)


def api_action(actors, *, gate, hidden=()) -> Access:
    """An API action (POST): `gate` passes the endpoint's role check (and so gets OPTIONS); `actors` may act."""
    return _access(hidden, POST=actors, OPTIONS=gate)


def admin(*methods, who=frozenset({ADMIN}), hidden=()) -> Access:
    """A page of Django's admin site: administrators only (GovernAdminSite.has_permission)."""
    return _access(hidden, **{method: who for method in methods or ("GET", "HEAD")})


def consulting(read: str, access: Access, methods=("GET", "HEAD")) -> Access:
    """A route that reads personal data: a 2xx answer to `methods` is one consultation, logged as on every surface."""
    return replace(access, consults=frozenset(methods), read=read)


def _acts(base: str, acts, access: Access) -> dict[str, Access]:
    return {base.format(act=act): access for act in acts}


OTHERS_TOKENS = WITH_A_ROLE - {OFFICER, ADMIN}  # the token is the officer's: others are told 404

TABLE: dict[str, Access] = {
    # --- Accounts and sign-in -----------------------------------------------------------------------------------------
    "/": page(SIGNED_IN),
    # Django's LoginView sends a signed-in user home whatever the method (see ANSWERED_BEYOND_HANDLERS).
    "/accounts/login/": _access(
        GET=ANYONE, HEAD=ANYONE, POST=ANYONE, PUT=ANYONE, OPTIONS=ANYONE, PATCH=SIGNED_IN, DELETE=SIGNED_IN
    ),
    "/accounts/logout/": _access(POST=ANYONE, OPTIONS=ANYONE),
    "/accounts/login/two-factor/": _access(GET=SIGNED_IN, POST=SIGNED_IN),
    "/accounts/login/two-factor/enrol/": _access(GET=SIGNED_IN, POST=SIGNED_IN),
    "/api/accounts/me/": api(SIGNED_IN),
    "/api/accounts/token/": _access(POST=ANYONE, OPTIONS=ANYONE),  # a username and password are the credentials
    "/api/accounts/users/": consulting("account list", api({ADMIN})),
    "/api/accounts/users/{pk}/": consulting("account", api({ADMIN})),
    "/api/accounts/tokens/": api(WITH_A_ROLE),
    "/api/accounts/tokens/{pk}/": _access(
        hidden=OTHERS_TOKENS, GET={OFFICER, ADMIN}, HEAD={OFFICER, ADMIN}, OPTIONS=WITH_A_ROLE
    ),
    "/api/accounts/tokens/{pk}/revoke/": api_action({OFFICER, ADMIN}, gate=WITH_A_ROLE, hidden=OTHERS_TOKENS),
    # --- Audit log ----------------------------------------------------------------------------------------------------
    "/audit/events/": page(AUDIT_READERS),
    "/audit/checkpoints/": page(WITH_A_ROLE),
    # A page's reason form posts here; every signed-in person may give a reason (the page itself decides who sees).
    "/audit/consult/": button(SIGNED_IN),
    "/api/audit/consistency/": api(WITH_A_ROLE),
    "/api/audit/public-key/": api(ANYONE),
    "/api/audit/events/": api(AUDIT_READERS),
    "/api/audit/events/{seq}/": api(AUDIT_READERS),  # an account event: the administrator sees it too
    "/api/audit/events/{seq}/proof/": api(AUDIT_READERS),
    "/api/audit/checkpoints/": api(WITH_A_ROLE),
    "/api/audit/checkpoints/latest/": api(WITH_A_ROLE),
    "/api/audit/checkpoints/{tree_size}/": api(WITH_A_ROLE),
    # --- Watchlists (the list in the paths is a submitted one: no draft is hidden from anyone here) -------------------
    "/watchlists/": page(LIST_READERS),
    "/watchlists/new/": form({COMPILER}),
    "/watchlists/{pk}/": consulting("watchlist entries", page(LIST_READERS)),
    "/watchlists/{pk}/entries/add/": form({COMPILER}),
    "/watchlists/{pk}/submit/": button({COMPILER}),
    # The review page shows a decision it refuses (a compiler's, a privacy officer's) beside the review, with 200.
    "/watchlists/{pk}/review/": consulting("watchlist review", form(LISTED_READERS), ("GET", "HEAD", "POST")),
    "/watchlists/{pk}/ratify/": button({COMMANDER}),
    "/watchlists/{pk}/history/": page(LIST_READERS),
    "/watchlists/images/{pk}/": consulting("custody image content", page(GALLERY)),
    # Changing an entry or a subject shows it first (after a reason); only a compiler changes either (issue 23).
    "/watchlists/entries/{pk}/": consulting("entry", form({COMPILER})),
    "/watchlists/entries/{pk}/remove/": button({COMPILER}),
    "/watchlists/subjects/{pk}/": consulting("subject", form({COMPILER})),
    # The search POSTs its name and reason: neither in the address.
    "/watchlists/subjects/": consulting("subject search", form(GALLERY), ["POST"]),
    # The header's search: whoever reads one kind of record it finds; it POSTs the text, the reason is the matrix's.
    "/search/": consulting("site search", form(WITH_A_ROLE - {ADMIN}), ["POST"]),
    "/watchlists/subjects/new/": form({COMPILER}),
    "/watchlists/subjects/{pk}/images/new/": form({COMPILER}),
    # Erasure (DPA 2018 s.47): a privacy officer's act, on a page that shows ids and counts, never the person.
    "/watchlists/subjects/{pk}/erase/": form({PRIVACY}),
    "/watchlists/images/{pk}/erase/": form({PRIVACY}),
    "/api/watchlists/erasures/subjects/{pk}/": api_action({PRIVACY}, gate={PRIVACY}),
    "/api/watchlists/erasures/images/{pk}/": api_action({PRIVACY}, gate={PRIVACY}),
    "/api/watchlists/subjects/": consulting("subject search", api(GALLERY, post={COMPILER})),
    "/api/watchlists/subjects/{pk}/": consulting("subject", api(GALLERY, patch={COMPILER})),
    "/api/watchlists/subjects/{pk}/images/": api_action({COMPILER}, gate=GALLERY),
    "/api/watchlists/images/{pk}/": consulting("custody image", api(GALLERY)),
    "/api/watchlists/images/{pk}/content/": consulting("custody image content", api(GALLERY)),
    "/api/watchlists/watchlists/": api(LIST_READERS, post={COMPILER}),
    "/api/watchlists/watchlists/{pk}/": api(LIST_READERS),
    "/api/watchlists/watchlists/{pk}/approve/": api_action({COMMANDER}, gate=LIST_READERS),
    "/api/watchlists/watchlists/{pk}/entries/": consulting(
        "watchlist entries", _access(GET=LISTED_READERS, HEAD=LISTED_READERS, POST={COMPILER}, OPTIONS=LIST_READERS)
    ),
    "/api/watchlists/watchlists/{pk}/ratify/": api_action({COMMANDER}, gate=LIST_READERS),
    "/api/watchlists/watchlists/{pk}/return/": api_action({COMMANDER}, gate=LIST_READERS),
    "/api/watchlists/watchlists/{pk}/review/": consulting(
        "watchlist review", _access(GET=LISTED_READERS, HEAD=LISTED_READERS, OPTIONS=LIST_READERS)
    ),
    "/api/watchlists/watchlists/{pk}/submit/": api_action({COMPILER}, gate=LIST_READERS),
    "/api/watchlists/entries/{pk}/": consulting("entry", api(LISTED_READERS, patch={COMPILER}, delete={COMPILER})),
    # --- Deployments (the deployment in the paths is the live one) ----------------------------------------------------
    "/deployments/": page(DEPLOYMENT_READERS),
    "/deployments/new/": form(PLANNERS),
    "/deployments/new/place/": page(PLANNERS),  # the plan's map names a picked place's district (JSON)
    "/deployments/schedule/": page(DEPLOYMENT_READERS),
    # The registers (issue 23): the van in the paths is booked on the live deployment, so retiring it is refused on
    # the page with a message; the document is approved already, so approving it again is refused the same way.
    "/deployments/assets/": page(ASSET_READERS, post={COMMANDER}),
    "/deployments/assets/{pk}/retire/": button({COMMANDER}),
    "/deployments/documents/": page(DEPLOYMENT_READERS, post=DOCUMENT_WRITERS),
    "/deployments/documents/{pk}/approve/": button({COMMANDER}),
    "/deployments/{pk}/": page(DEPLOYMENT_READERS),
    **_acts(
        "/deployments/{{pk}}/{act}/",
        ["authorise", "exempt", "suspend", "resume", "cancel"],
        button({COMMANDER}),
    ),
    # Officers run deployments on site: an officer of another team is told on the page that it is not theirs.
    **_acts("/deployments/{{pk}}/{act}/", ["go-live", "end-early"], button(ON_SITE)),
    # The emergency stop (issue 25): a commander or the privacy officer, one deployment or every one of the force.
    "/deployments/stop-all/": button(STOPPERS),
    "/deployments/{pk}/emergency-stop/": button(STOPPERS),
    "/deployments/{pk}/notice/": button(PLAN_EDITORS),
    "/deployments/{pk}/checklist/": button(ON_SITE),
    "/deployments/{pk}/team/": button(PLAN_EDITORS),  # another planner is told on the page that it is not theirs
    "/deployments/{pk}/watchlist/": button(PLAN_EDITORS),  # attach the list: others are told it is not theirs
    "/api/deployments/published/": api(ANYONE),
    "/api/deployments/assets/": api(ASSET_READERS, post={COMMANDER}),
    "/api/deployments/assets/{pk}/": api(ASSET_READERS),
    "/api/deployments/assets/{pk}/retire/": api_action({COMMANDER}, gate=ASSET_READERS),
    "/api/deployments/documents/": api(DEPLOYMENT_READERS, post=DOCUMENT_WRITERS),
    "/api/deployments/documents/{pk}/": api(DEPLOYMENT_READERS),
    "/api/deployments/documents/{pk}/approve/": api_action({COMMANDER}, gate=DEPLOYMENT_READERS),
    "/api/deployments/deployments/": api(DEPLOYMENT_READERS, post=PLANNERS),
    # Only the planner and the deployment's team change, prepare or run it (issue 20, item 4): here the officer.
    "/api/deployments/deployments/{pk}/": api(DEPLOYMENT_READERS, patch=TEAM),
    **_acts(
        "/api/deployments/deployments/{{pk}}/{act}/",
        ["authorise", "cancel", "exempt-notice", "resume", "suspend"],
        api_action({COMMANDER}, gate=DEPLOYMENT_READERS),
    ),
    # The deployment's team (the officer) or a commander starts and ends it (issue 23).
    **_acts(
        "/api/deployments/deployments/{{pk}}/{act}/",
        ["go-live", "end-early"],
        api_action({OFFICER, COMMANDER}, gate=DEPLOYMENT_READERS),
    ),
    "/api/deployments/deployments/emergency-stop/": api_action(STOPPERS, gate=DEPLOYMENT_READERS),
    "/api/deployments/deployments/{pk}/emergency-stop/": api_action(STOPPERS, gate=DEPLOYMENT_READERS),
    "/api/deployments/deployments/{pk}/checklist/": api_action(TEAM, gate=DEPLOYMENT_READERS),
    "/api/deployments/deployments/{pk}/notice/": api_action(TEAM, gate=DEPLOYMENT_READERS),
    "/api/deployments/deployments/{pk}/outcome/": api(DEPLOYMENT_READERS),  # counted, never typed (issue 22)
    # The team: its planner (the officer) or a commander; another planner is refused on this deployment.
    "/api/deployments/deployments/{pk}/team/": api_action({OFFICER, COMMANDER}, gate=DEPLOYMENT_READERS),
    # --- Matching: alerts (of the live deployment, whose team is the officer) -----------------------------------------
    "/matching/deployments/{pk}/alerts/": consulting("alerts", page(TEAM_ALERTS, hidden={OTHER_UNIT})),
    "/matching/deployments/{pk}/alerts/counts/": page(TEAM_ALERTS, hidden={OTHER_UNIT}),
    "/matching/alerts/{pk}/probe.jpg": consulting("alert probe", page(TEAM_ALERTS, hidden={OTHER_UNIT})),
    "/matching/alerts/{pk}/watchlist.jpg": consulting("alert watchlist image", page(TEAM_ALERTS, hidden={OTHER_UNIT})),
    **_acts(
        "/matching/alerts/{{pk}}/{act}/",
        ["judge", "engage", "outcome", "complaint"],
        button({OFFICER}, hidden={OTHER_UNIT}),
    ),
    # Camera credentials (issue 23): a commander's, on the page of the van in the paths and on the API.
    "/matching/assets/{pk}/credentials/": page({COMMANDER}, post={COMMANDER}),
    "/matching/credentials/{pk}/revoke/": button({COMMANDER}),
    "/api/matching/credentials/": api({COMMANDER}, post={COMMANDER}),
    "/api/matching/credentials/{pk}/": api({COMMANDER}),
    "/api/matching/credentials/{pk}/revoke/": api_action({COMMANDER}, gate={COMMANDER}),
    # Re-enrolment on the engine in use (issue 24): an authorising officer's, from a list's page or the API.
    "/matching/watchlists/{pk}/reenrol/": button({COMMANDER}),
    "/api/matching/watchlists/{pk}/reenrol/": api_action({COMMANDER}, gate={COMMANDER}),
    "/api/matching/capture/": _access(POST={CAMERA}, OPTIONS=ANYONE | {CAMERA}),
    "/api/matching/capture/crops/": _access(POST={CAMERA}, OPTIONS=ANYONE | {CAMERA}),
    # Capture agents (issue 25), with the camera credential; the matrix names no deployment, so the camera's answer is
    # the 400 asking for one (past the credential's check), and everyone else's a 401.
    "/api/matching/agent/session/": _access(GET={CAMERA}, HEAD={CAMERA}, OPTIONS=ANYONE | {CAMERA}),
    "/api/matching/agent/status/": _access(GET={CAMERA}, HEAD={CAMERA}, OPTIONS=ANYONE | {CAMERA}),
    "/api/matching/agent/batches/": _access(POST={CAMERA}, OPTIONS=ANYONE | {CAMERA}),
    # A deployment's frames: counts only, open as the deployment is (issue 23).
    "/api/matching/captures/": api(DEPLOYMENT_READERS),
    "/api/matching/captures/{pk}/": api(DEPLOYMENT_READERS),
    "/api/matching/alerts/": consulting("alerts", api(ALERT_READERS)),  # the other unit's officer: an empty list
    "/api/matching/alerts/{pk}/": consulting(
        "alert", _access(hidden={OTHER_UNIT}, GET=TEAM_ALERTS, HEAD=TEAM_ALERTS, OPTIONS=ALERT_READERS)
    ),
    **_acts(
        "/api/matching/alerts/{{pk}}/{act}/",
        ["adjudicate", "engage", "outcome", "complaint"],
        api_action({OFFICER}, gate=ALERT_READERS, hidden={OTHER_UNIT}),
    ),
    # --- Matching: retrospective searches (the search in the paths is the retail partner's) ---------------------------
    "/matching/figures/": page({COMMANDER, PRIVACY, OVERSIGHT}),  # counts only: no person in them
    "/matching/searches/": page(SEARCH_READERS, post=SEARCHERS),
    "/matching/searches/{pk}/": page(SEARCH_READERS),
    "/matching/searches/{pk}/close/": button(OFFICERS),
    "/matching/searches/{pk}/review/": consulting("search candidates", page(CANDIDATE_READERS, post=OFFICERS)),
    "/api/matching/searches/": api(SEARCH_READERS, post=SEARCHERS),
    "/api/matching/searches/{pk}/": api(SEARCH_READERS),
    "/api/matching/searches/{pk}/close/": api_action(OFFICERS, gate=SEARCH_READERS),
    "/api/matching/searches/{pk}/probes/": consulting(
        "search candidates", _access(GET=CANDIDATE_READERS, HEAD=CANDIDATE_READERS, OPTIONS=SEARCH_READERS)
    ),
    "/api/matching/probes/{pk}/choose/": api_action(OFFICERS, gate=CANDIDATE_READERS),
    "/api/matching/probes/{pk}/confirm/": api_action(OFFICERS, gate=CANDIDATE_READERS),
    # --- Sarah's Law (the case's officer in charge is another officer of the unit) ------------------------------------
    "/disclosures/": page(CASE_READERS),
    "/disclosures/new/": form(UNIT),
    "/disclosures/statistics/": page(STATISTICS_READERS),
    "/disclosures/from-alert/{alert_pk}/": button(UNIT),
    # Each page of a case; POST: the reason form.
    **{
        f"/disclosures/{{pk}}/{part}": consulting("case", form(CASE_READERS), ("GET", "HEAD", "POST"))
        for part in ("", "forum/", "disclosure/", "letter/")
    },
    **_acts(
        "/disclosures/{{pk}}/{act}/",
        [
            "child",
            "check",
            "complete-checks",
            "meeting",
            "risk-assessment",
            "forum-decision",
            "undertaking",
            "disclose",
            "issue-letter",
            "extension",
            "decide-extension",
        ],
        button(UNIT),
    ),
    "/api/disclosures/statistics/": api(STATISTICS_READERS),
    "/api/disclosures/cases/": api(CASE_READERS, post=UNIT),
    "/api/disclosures/cases/from-alert/": api_action(UNIT, gate=CASE_READERS),
    "/api/disclosures/cases/{pk}/": consulting("case", api(CASE_READERS)),
    **_acts(
        "/api/disclosures/cases/{{pk}}/{act}/",
        [
            "checks",
            "children",
            "complete-checks",
            "disclosure",
            "extensions",
            "forum-decision",
            "letter",
            "meeting",
            "risk-assessment",
            "undertaking",
        ],
        api_action(UNIT, gate=CASE_READERS),
    ),
    # The officer is a supervisor who neither asked for the extension nor is in charge of the case.
    "/api/disclosures/cases/{pk}/extensions/{extension_id}/decide/": api_action(UNIT, gate=CASE_READERS),
    # --- The data-subject requests desk (the request: an access request another privacy officer logged, granted) ------
    "/rights/": page(DESK),
    "/rights/new/": form(REQUEST_LOGGERS),
    "/rights/{pk}/": consulting("rights request", form(DESK), ("GET", "HEAD", "POST")),
    "/rights/{pk}/pack/": consulting("rights response pack", form(DESK), ("GET", "HEAD", "POST")),
    **_acts(
        "/rights/{{pk}}/{act}/", ["link", "identity", "extend", "decide", "respond", "lift-restriction"], button(DESK)
    ),
    "/api/rights/requests/": api(DESK, post=REQUEST_LOGGERS),
    "/api/rights/requests/{pk}/": consulting("rights request", api(DESK)),
    "/api/rights/requests/{pk}/pack/": consulting("rights response pack", api(DESK)),
    **_acts(
        "/api/rights/requests/{{pk}}/{act}/",
        ["link", "identity", "extend", "decide", "respond", "lift-restriction"],
        api_action(DESK, gate=DESK),
    ),
    # --- Oversight ----------------------------------------------------------------------------------------------------
    "/oversight/": page(OVERSEERS),
    "/oversight/deployments/{pk}/": page(OVERSEERS),
    "/oversight/deployments/{pk}/bundle.zip": page(OVERSEERS),
    "/oversight/bundle.zip": page(OVERSEERS),
    # An alert's court export holds its images: a privacy officer's, with a reason.
    "/oversight/alerts/{pk}/court-export.zip": consulting("court export", page({PRIVACY})),
    "/oversight/verify_bundle.py": page(OVERSEERS),
    "/oversight/notes.py": page(OVERSEERS),
    "/oversight/retention/": page(GOVERNANCE_READERS, post={PRIVACY}),
    "/oversight/retention/sweep/": button({PRIVACY}),
    "/oversight/retention/review/": button({PRIVACY}),
    "/oversight/governance/": page(GOVERNANCE_READERS, post={COMMANDER}),
    "/oversight/governance/{pk}/evidence/": page(GOVERNANCE_READERS),
    **_acts("/oversight/governance/{{pk}}/{act}/", ["countersign", "reject"], button({PRIVACY})),
    # Withdrawing a change in force (issue 25): the one in the paths is only proposed, so it is refused on the page.
    "/oversight/governance/{pk}/withdraw/": button(STOPPERS),
    "/oversight/equality/": page(OVERSEERS),
    "/oversight/misidentifications/": consulting("misidentifications", page({PRIVACY})),
    "/oversight/access/": page(OVERSEERS),
    "/api/oversight/ledgers/": api(OVERSEERS),
    "/api/oversight/purges/": api(OVERSEERS),
    "/api/oversight/deletion-evidence/": api(OVERSEERS),
    "/api/oversight/equality/": api(OVERSEERS),
    "/api/oversight/access/": api(OVERSEERS),
    "/api/oversight/deployments/{pk}/bundle/": api(OVERSEERS),
    "/api/oversight/alerts/{pk}/court-export/": consulting("court export", api({PRIVACY})),
    "/api/oversight/misidentifications/": consulting("misidentifications", api({PRIVACY})),
    "/api/oversight/retention/": api(GOVERNANCE_READERS),
    "/api/oversight/retention/set/": api_action({PRIVACY}, gate=GOVERNANCE_READERS),
    "/api/oversight/retention/sweep/": api_action({PRIVACY}, gate=GOVERNANCE_READERS),
    "/api/oversight/retention/review/": api_action({PRIVACY}, gate=GOVERNANCE_READERS),
    "/api/oversight/changes/": api(GOVERNANCE_READERS, post={COMMANDER}),
    "/api/oversight/changes/{pk}/": api(GOVERNANCE_READERS),
    "/api/oversight/changes/{pk}/countersign/": api_action({PRIVACY}, gate=GOVERNANCE_READERS),
    "/api/oversight/changes/{pk}/reject/": api_action({PRIVACY}, gate=GOVERNANCE_READERS),
    "/api/oversight/changes/{pk}/withdraw/": api_action(STOPPERS, gate=GOVERNANCE_READERS),
    "/api/oversight/notifications/": api({PRIVACY}),
    # --- Public records: anyone, signed in or not (the completed deployment in the paths, a year it ran in) -----------
    "/public/": page(ANYONE),
    "/public/deployments/": page(ANYONE),
    "/public/deployments/{reference}/": page(ANYONE),
    "/public/annual/": page(ANYONE),
    "/public/annual/{year}/": page(ANYONE),
    "/public/annual/{year}/foi-pack.zip": page(ANYONE),
    "/public/method/": page(ANYONE),
    # --- The API's own description, and liveness ----------------------------------------------------------------------
    "/api/schema/": api(ANYONE),
    "/api/docs/": page(ANYONE),  # the Swagger UI: an HTML page (its OPTIONS was a 500)
    "/healthz": any_method(ANYONE),
    # The audit log for monitors and witnesses (c2sp.org/tlog-tiles): anyone reads it, nobody writes through it.
    "/checkpoint": page(ANYONE),
    "/tile/0/000.p/1": page(ANYONE),
    "/tile/entries/000.p/1": page(ANYONE),
}

# Django's admin site. Its views take any method and are Django's own; what Govern decides is who gets in
# (GovernAdminSite.has_permission: the administrator role), so the matrix checks the methods declared here only.
NOBODY = frozenset()
# Shown to administrators, changed by no one on the admin site (only by its actions, through the services).
READ_ONLY = ("apitoken", "signinlockout", "accountchange")
ADMIN_TABLE: dict[str, Access] = {
    "/admin/": admin("GET", "HEAD", "POST"),
    "/admin/login/": _access(GET=ANYONE, HEAD=ANYONE, POST=ANYONE),
    # Anyone but an administrator is sent to the admin index (which sends them to sign in); an administrator is
    # signed out by a POST and told 405 for a GET.
    "/admin/logout/": _access(GET=ANYONE - {ADMIN}, HEAD=ANYONE - {ADMIN}, POST=ANYONE),
    "/admin/password_change/": admin("GET", "HEAD", "POST"),
    "/admin/password_change/done/": admin(),
    "/admin/autocomplete/": admin(who=NOBODY),  # no admin form has an autocomplete field: refused to all
    "/admin/jsi18n/": admin(),
    "/admin/r/{content_type_id}/{object_id}/": admin(who=NOBODY, hidden={ADMIN}),  # an account has no page to go to
    "/admin/accounts/": admin(),
    "/admin/no-such-page/": admin(who=NOBODY, hidden={ADMIN}),
    "/admin/accounts/user/": consulting("account list", admin("GET", "HEAD", "POST")),
    "/admin/accounts/user/add/": admin("GET", "HEAD", "POST"),
    "/admin/accounts/user/{object_id}/": admin(),
    "/admin/accounts/user/{object_id}/change/": consulting("account", admin("GET", "HEAD", "POST")),
    "/admin/accounts/user/{object_id}/history/": admin(),
    "/admin/accounts/user/{object_id}/delete/": admin("GET", "HEAD", "POST", who=NOBODY),  # accounts are deactivated
    "/admin/accounts/user/{id}/password/": admin("GET", "HEAD", "POST"),
    **{
        f"/admin/accounts/{model}/{suffix}": access
        for model in READ_ONLY
        for suffix, access in (
            ("", admin("GET", "HEAD", "POST")),
            ("add/", admin("GET", "HEAD", "POST", who=NOBODY)),
            ("{object_id}/", admin()),
            ("{object_id}/change/", _access(GET={ADMIN}, HEAD={ADMIN}, POST=NOBODY)),
            ("{object_id}/history/", admin()),
            ("{object_id}/delete/", admin("GET", "HEAD", "POST", who=NOBODY)),
        )
    },
}

# Methods a view has no handler for that still get an answer: Django's LoginView sends a signed-in user home
# before it looks at the method.
ANSWERED_BEYOND_HANDLERS = {"/accounts/login/": {"PATCH", "DELETE"}}

# Cells where the application is known to be wrong, with why: the matrix expects the fault (a 5xx) so that the
# fix shows up as a failure here and the entry is removed.
KNOWN_FAULTS: dict[tuple[str, str], str] = {}
