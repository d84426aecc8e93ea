"""Who may approve engines, issue camera credentials and see alerts."""

from django.conf import settings

from apps.accounts.choices import Rank, Role
from apps.accounts.policy import rule

OFFICER, APPROVER, PRIVACY = Role.OFFICER, Role.AUTHORISING_OFFICER, Role.PRIVACY_OFFICER


def _full_rank(user, _obj=None) -> str | None:
    if user.outranks_or_equals(settings.AUTHORISING_MIN_RANK):
        return None
    return f"Only a {Rank(settings.AUTHORISING_MIN_RANK).label} or above approves a face engine."


rule("matching.approve_engine", roles=[APPROVER], label="Approve face engines", check=_full_rank)
rule("matching.view_engineapproval", roles=[APPROVER, PRIVACY, Role.OVERSIGHT], label="View engine approvals")
rule("matching.add_cameracredential", roles=[APPROVER], label="Issue camera credentials")
rule("matching.view_cameracredential", roles=[APPROVER], label="View camera credentials")
rule("matching.view_alert", roles=[OFFICER, APPROVER, PRIVACY], label="View alerts")
rule("matching.adjudicate_alert", roles=[OFFICER], label="Adjudicate alerts")
