"""Who may see oversight findings, set retention, govern the threshold and engine, and export evidence.

Privacy officers audit and set retention but change no operational data; oversight users (regulator, PCC) read
dashboards and bundles only, never biometric data; authorising officers propose threshold and engine changes,
which only a privacy officer's countersignature brings into force.
"""

from govern.policy import minimum_rank, rule
from govern.roles import Role

APPROVER, PRIVACY, OVERSIGHT = Role.AUTHORISING_OFFICER, Role.PRIVACY_OFFICER, Role.OVERSIGHT


def _not_the_proposer(user, change) -> str | None:
    if change.proposed_by_id == user.pk:
        return "You proposed this change, so you may not countersign it: another person must."
    return None


rule("oversight.view_dashboard", roles=[PRIVACY, OVERSIGHT], label="View the oversight dashboard")
rule("oversight.view_retentionpolicy", roles=[PRIVACY, OVERSIGHT, APPROVER], label="View retention policies")
rule("oversight.change_retentionpolicy", roles=[PRIVACY], label="Set retention policies")
rule("oversight.view_retentionreview", roles=[PRIVACY, OVERSIGHT, APPROVER], label="View reviews of retention periods")
rule("oversight.review_retentionpolicy", roles=[PRIVACY], label="Record a review of a retention period")
rule("oversight.run_sweep", roles=[PRIVACY], label="Run the retention sweep")
rule("oversight.view_notification", roles=[PRIVACY], label="View oversight notifications")
rule("oversight.view_accesslog", roles=[PRIVACY, OVERSIGHT], label="Review the access log")
rule("oversight.export_accesslog", roles=[PRIVACY, OVERSIGHT], label="Export the access log")
rule("oversight.export_bundle", roles=[PRIVACY, OVERSIGHT], label="Download evidence bundles")
# Misidentifications are about people (what was perceived of them, their stops): the privacy officers' review.
rule("oversight.review_misidentifications", roles=[PRIVACY], label="Review misidentifications")
# A court export holds the probe and the reference image: biometric data, so never the oversight role's.
rule("oversight.export_court_evidence", roles=[PRIVACY], label="Produce an alert's court evidence export")
rule("oversight.view_governedchange", roles=[PRIVACY, OVERSIGHT, APPROVER], label="View threshold and engine changes")
rule(
    "oversight.propose_governedchange",
    roles=[APPROVER],
    label="Propose threshold or engine changes",
    actor=minimum_rank("AUTHORISING_MIN_RANK", "proposes a threshold or engine change"),
)
# Withdrawing a change in force only ever stops deployments: either role that brings one into force may do it alone.
rule(
    "oversight.withdraw_governedchange",
    roles=[APPROVER, PRIVACY],
    label="Withdraw threshold or engine approvals",
)
rule(
    "oversight.countersign_governedchange",
    roles=[PRIVACY],
    label="Countersign threshold or engine changes",
    check=_not_the_proposer,
)
