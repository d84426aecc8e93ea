"""Who may approve engines, issue camera credentials and see alerts.

An officer sees, judges and holds only the alerts of deployments whose team they are on; authorising officers and
privacy officers see every alert. An alert outside the officer's deployments is not there for them (404).
"""

from django.db.models import Q

from govern.policy import minimum_rank, rule
from govern.roles import Role

OFFICER, APPROVER, PRIVACY = Role.OFFICER, Role.AUTHORISING_OFFICER, Role.PRIVACY_OFFICER

rule(
    "matching.approve_engine",
    roles=[APPROVER],
    label="Approve face engines",
    actor=minimum_rank("AUTHORISING_MIN_RANK", "approves a face engine"),
)
# Withdrawing an approval only ever stops deployments: either of the roles that approve one may do it alone.
rule("matching.withdraw_engine", roles=[APPROVER, PRIVACY], label="Withdraw face engine approvals")
rule("matching.countersign_engine", roles=[PRIVACY], label="Countersign face engine approvals")
rule("matching.view_engineapproval", roles=[APPROVER, PRIVACY, Role.OVERSIGHT], label="View engine approvals")
rule("matching.add_engineevaluation", roles=[APPROVER, PRIVACY], label="Evaluate the face engine on a face set")
rule("matching.view_engineevaluation", roles=[APPROVER, PRIVACY, Role.OVERSIGHT], label="View engine evaluations")
# After the engine in use changed, an approved list must be enrolled on it again (from its stored images) to match.
rule("matching.reenrol_watchlist", roles=[APPROVER], label="Re-enrol an approved watchlist on the engine in use")
rule("matching.add_cameracredential", roles=[APPROVER], label="Issue camera credentials")
rule("matching.view_cameracredential", roles=[APPROVER], label="View camera credentials")
rule("matching.revoke_cameracredential", roles=[APPROVER], label="Revoke camera credentials")


def deployments_with_visible_alerts(user) -> Q:
    """The deployments (a Q on Deployment) whose alerts the user sees: an officer their teams', an authorising or
    privacy officer every one."""
    return Q() if user.has_role(APPROVER, PRIVACY) else Q(team=user)


def _alerts_of_own_deployments(user) -> Q:
    # The same rule as deployments_with_visible_alerts, seen from the alert.
    return Q() if user.has_role(APPROVER, PRIVACY) else Q(deployment__team=user)


def _captures_of_visible_deployments(user) -> Q:
    # A frame's counts are as open as its deployment: whoever may see the deployment sees them, nobody else.
    from apps.deployments.models import Deployment

    return Q(deployment__in=Deployment.objects.restrict(user, "view").values("pk"))


# A frame's record holds counts only (faces, alerts, receipts), never an image or a template.
rule(
    "matching.view_capture",
    roles=[OFFICER, Role.WATCHLIST_COMPILER, APPROVER, PRIVACY, Role.OVERSIGHT],
    label="View a deployment's frames",
    scope=_captures_of_visible_deployments,
)
rule("matching.view_alert", roles=[OFFICER, APPROVER, PRIVACY], label="View alerts", scope=_alerts_of_own_deployments)
# The same rule from the deployment's side: whether to offer a deployment's alert queue (its page checks the same).
rule(
    "matching.view_deployment_alerts",
    roles=[OFFICER, APPROVER, PRIVACY],
    label="See a deployment's alerts",
    scope=deployments_with_visible_alerts,
)
rule("matching.adjudicate_alert", roles=[OFFICER], label="Adjudicate alerts", scope=_alerts_of_own_deployments)
rule(
    "matching.hold_alert",
    roles=[OFFICER, APPROVER],
    label="Place evidential holds on alerts",
    scope=_alerts_of_own_deployments,
)


def _own_searches(user):
    """Retail partners see only their own submissions; officers and privacy officers see all."""
    return Q() if user.has_role(OFFICER, PRIVACY) else Q(submitted_by=user)


def _not_the_operator(user, probe) -> str | None:
    if probe.operator_id == user.pk:
        return "The operator who chose the candidate may not also confirm it: another officer investigates."
    return None


rule("matching.add_searchrequest", roles=[OFFICER, Role.RETAIL_PARTNER], label="Submit retrospective searches")
rule(
    "matching.view_searchrequest",
    roles=[OFFICER, PRIVACY, Role.RETAIL_PARTNER],
    label="View search requests",
    scope=_own_searches,
)
# Candidates are for trained police operators: never for retail partners.
rule("matching.view_probe", roles=[OFFICER, PRIVACY], label="View search candidates")
rule("matching.review_probe", roles=[OFFICER], label="Review search candidates")
rule("matching.confirm_probe", roles=[OFFICER], label="Confirm identifications", check=_not_the_operator)
rule("matching.close_searchrequest", roles=[OFFICER], label="Close searches")
# Counts only (faces, alerts, false alerts, receipts): no person in them, so commanders see every deployment's.
rule(
    "matching.view_figures",
    roles=[APPROVER, PRIVACY, Role.OVERSIGHT],
    label="View deployments' figures and reconciliation",
)
