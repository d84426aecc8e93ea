"""Who may plan, authorise and run deployments; separation of duties and rank live here."""

from django.db.models import Q

from govern.policy import minimum_rank, rule
from govern.roles import Role

OFFICER, COMPILER, APPROVER = Role.OFFICER, Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER
PRIVACY, OVERSIGHT = Role.PRIVACY_OFFICER, Role.OVERSIGHT
PLANNERS = [OFFICER, COMPILER]


def _may_authorise(user, deployment) -> str | None:
    if deployment.planned_by_id == user.pk:
        return "You planned this deployment, so you may not authorise it."
    if deployment.editors.filter(pk=user.pk).exists():
        return "You changed this deployment's plan, so you may not authorise it: another authorising officer does."
    return None


def _planner_or_team(user) -> Q:
    return Q(planned_by=user) | Q(team=user)


def _may_work_on(user, deployment) -> str | None:
    # Only the people who answer for the deployment change, prepare or run it: its planner and its team.
    if deployment.planned_by_id == user.pk or deployment.team.filter(pk=user.pk).exists():
        return None
    return "Only the officer who planned this deployment or an officer of its team changes, prepares or runs it."


def _on_site(user, deployment) -> str | None:
    # Officers who run the deployment on site start and stop it: those of its team. An authorising officer commands
    # every deployment.
    if user.has_role(APPROVER) or deployment.team.filter(pk=user.pk).exists():
        return None
    return "Only an officer of this deployment's team or an authorising officer starts or ends it."


def _may_exempt_notice(user, deployment) -> str | None:
    if deployment.planned_by_id == user.pk:
        return "You planned this deployment, so you may not exempt it from public notice."
    return None


def _may_change_team(user, deployment) -> str | None:
    # The team decides who sees the deployment's alerts: its planner sets it, a commander may change it.
    if deployment.planned_by_id == user.pk or user.has_role(APPROVER):
        return None
    return "Only the officer who planned this deployment or an authorising officer changes its team."


def _not_the_author(user, document) -> str | None:
    # Four eyes: whoever recorded a version of a DPIA, EIA or APD does not also approve it.
    if document.recorded_by_id == user.pk:
        return "You recorded this version, so you may not approve it: another authorising officer does."
    return None


rule("deployments.view_asset", roles=[OFFICER, COMPILER, APPROVER, PRIVACY], label="View vans and cameras")
rule("deployments.add_asset", roles=[APPROVER], label="Register vans and cameras")
rule("deployments.retire_asset", roles=[APPROVER], label="Retire vans and cameras")
rule(
    "deployments.view_policydocument",
    roles=[OFFICER, COMPILER, APPROVER, PRIVACY, OVERSIGHT],
    label="View policy documents",
)
# The data protection officer writes the DPIA and its companions as often as a commander does; an authorising officer
# who did not record the version approves it.
rule("deployments.add_policydocument", roles=[APPROVER, PRIVACY], label="Record policy documents")
rule(
    "deployments.approve_policydocument",
    roles=[APPROVER],
    label="Approve policy documents",
    check=_not_the_author,
    actor=minimum_rank("AUTHORISING_MIN_RANK", "approves policy documents"),
)
rule("deployments.view_deployment", roles=[OFFICER, COMPILER, APPROVER, PRIVACY, OVERSIGHT], label="View deployments")
rule("deployments.add_deployment", roles=PLANNERS, label="Plan deployments")
rule(
    "deployments.change_deployment",
    roles=[*PLANNERS, APPROVER],
    label="Change deployments",
    check=_may_work_on,
    scope=_planner_or_team,
)
rule("deployments.change_team", roles=[*PLANNERS, APPROVER], label="Change deployment teams", check=_may_change_team)
rule(
    "deployments.authorise_deployment",
    roles=[APPROVER],
    label="Authorise deployments",
    check=_may_authorise,
    actor=minimum_rank("AUTHORISING_MIN_RANK", "may authorise"),
)
rule(
    "deployments.exempt_notice",
    roles=[APPROVER],
    label="Exempt deployments from advance notice",
    check=_may_exempt_notice,
)
rule(
    "deployments.run_deployment",
    roles=[OFFICER, APPROVER],
    label="Run deployments on site",
    check=_may_work_on,
    scope=_planner_or_team,
)
rule("deployments.command_deployment", roles=[APPROVER], label="Suspend, resume or cancel deployments")
# The emergency stop: a commander or the privacy officer stops one deployment, or all of the force's, at once. It
# only ever stops: restarting needs a new authorisation, so it asks no rank and no object check.
rule(
    "deployments.emergency_stop",
    roles=[APPROVER, PRIVACY],
    label="Stop deployments in an emergency",
)
rule("deployments.go_live", roles=[OFFICER, APPROVER], label="Take deployments live", check=_on_site)
rule("deployments.end_deployment", roles=[OFFICER, APPROVER], label="End live deployments early", check=_on_site)
rule(
    "deployments.view_publishedfigures",
    roles=[OFFICER, COMPILER, APPROVER, PRIVACY, OVERSIGHT],
    label="View published figures",
)
