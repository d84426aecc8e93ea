"""Who may plan, authorise and run deployments; separation of duties and rank live here."""

from django.conf import settings

from apps.accounts.choices import Rank, Role
from apps.accounts.policy import rule

OFFICER, COMPILER, APPROVER = Role.OFFICER, Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER
PRIVACY, OVERSIGHT = Role.PRIVACY_OFFICER, Role.OVERSIGHT
PLANNERS = [OFFICER, COMPILER]


def _may_authorise(user, deployment) -> str | None:
    if deployment.planned_by_id == user.pk:
        return "You planned this deployment, so you may not authorise it."
    if not user.outranks_or_equals(settings.AUTHORISING_MIN_RANK):
        minimum = Rank(settings.AUTHORISING_MIN_RANK).label
        return f"Only a {minimum} or above may authorise; your rank is {user.get_rank_display() or 'none'}."
    return None


def _may_exempt_notice(user, deployment) -> str | None:
    if deployment.planned_by_id == user.pk:
        return "You planned this deployment, so you may not exempt it from public notice."
    return None


def _may_change_team(user, deployment) -> str | None:
    # The team decides who sees the deployment's alerts: its planner sets it, a commander may change it.
    if deployment.planned_by_id == user.pk or user.has_role(APPROVER):
        return None
    return "Only the officer who planned this deployment or an authorising officer changes its team."


rule("deployments.view_asset", roles=[OFFICER, COMPILER, APPROVER, PRIVACY], label="View vans and cameras")
rule("deployments.add_asset", roles=[APPROVER], label="Register vans and cameras")
rule(
    "deployments.view_policydocument",
    roles=[OFFICER, COMPILER, APPROVER, PRIVACY, OVERSIGHT],
    label="View policy documents",
)
rule("deployments.add_policydocument", roles=[APPROVER], label="Record policy documents")
rule(
    "deployments.approve_policydocument",
    roles=[APPROVER],
    label="Approve policy documents",
    check=lambda user, doc: (
        None
        if user.outranks_or_equals(settings.AUTHORISING_MIN_RANK)
        else "Only an authorising officer of the minimum rank approves policy documents."
    ),
)
rule("deployments.view_deployment", roles=[OFFICER, COMPILER, APPROVER, PRIVACY, OVERSIGHT], label="View deployments")
rule("deployments.add_deployment", roles=PLANNERS, label="Plan deployments")
rule("deployments.change_deployment", roles=[*PLANNERS, APPROVER], label="Change deployments")
rule("deployments.change_team", roles=[*PLANNERS, APPROVER], label="Change deployment teams", check=_may_change_team)
rule("deployments.authorise_deployment", roles=[APPROVER], label="Authorise deployments", check=_may_authorise)
rule(
    "deployments.exempt_notice",
    roles=[APPROVER],
    label="Exempt deployments from advance notice",
    check=_may_exempt_notice,
)
rule("deployments.run_deployment", roles=[OFFICER, APPROVER], label="Run deployments on site")
rule("deployments.command_deployment", roles=[APPROVER], label="Suspend, resume or cancel deployments")
rule("deployments.view_outcome", roles=[OFFICER, COMPILER, APPROVER, PRIVACY, OVERSIGHT], label="View outcomes")
rule("deployments.change_outcome", roles=[OFFICER, APPROVER], label="Record outcomes")
