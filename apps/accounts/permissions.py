"""Who may see and manage accounts."""

from django.db.models import Q

from govern.policy import rule
from govern.roles import Role

EVERY_ROLE = list(Role)

rule("accounts.view_user", roles=[Role.ADMINISTRATOR], label="View accounts")
rule("accounts.change_user", roles=[Role.ADMINISTRATOR], label="Change accounts")
rule("accounts.add_user", roles=[Role.ADMINISTRATOR], label="Create accounts")
# Everyone may read their own account.
rule("accounts.view_self", roles=EVERY_ROLE, label="View your own account", scope=lambda user: Q(pk=user.pk))


def _own_tokens_unless_administrator(user):
    return Q() if user.has_role(Role.ADMINISTRATOR) else Q(user=user)


def _revocation_refusal(user, token):
    if token.user_id != user.pk and not user.has_role(Role.ADMINISTRATOR):
        return "Only the token's holder or an administrator may revoke it."
    if token.revoked_at is not None:
        return "This token is already revoked."
    return None


# Everyone sees and revokes their own API tokens; administrators see and revoke anyone's.
rule("accounts.view_apitoken", roles=EVERY_ROLE, label="View API tokens", scope=_own_tokens_unless_administrator)
rule(
    "accounts.revoke_apitoken",
    roles=EVERY_ROLE,
    label="Revoke API tokens",
    scope=_own_tokens_unless_administrator,
    check=_revocation_refusal,
)


def _may_decide_change(user, change):
    if change.state != "pending":
        return "This change is already decided."
    if change.requested_by_id == user.pk:
        return "You asked for this change, so another administrator decides it."
    if change.user_id == user.pk:
        return "Nobody decides a change to their own account."
    return None


# Four eyes: one administrator asks, another approves; the change waits until then.
rule("accounts.view_accountchange", roles=[Role.ADMINISTRATOR], label="View account changes awaiting approval")
rule(
    "accounts.decide_accountchange",
    roles=[Role.ADMINISTRATOR],
    label="Approve account changes",
    check=_may_decide_change,
)
