"""The audit actions and the account choices of the accounts app (ranks and roles are in govern.roles)."""

from django.db import models

from govern.roles import SECOND_FACTOR_ROLES

AUDIT_ACTIONS = {
    "account.create": "Account created",
    "account.update": "Account changed",
    "account.roles_changed": "Roles changed",
    "account.password_set": "Password set",
    "account.deactivate": "Account deactivated",
    "account.login": "Signed in",
    "account.login_failed": "Sign-in refused",
    "account.logout": "Signed out",
    "account.token_issued": "API token issued",
    "account.token_revoked": "API token revoked",
    "account.locked_out": "Sign-in paused after repeated failures",
    "account.second_factor_enrolled": "Authenticator app enrolled",
    "account.second_factor_verified": "Two-factor code accepted",
    "account.second_factor_failed": "Two-factor code refused",
    "account.second_factor_reset": "Authenticator app removed (enrol again)",
    "account.enrolment_code_issued": "Enrolment code for an authenticator app issued",
    "account.enrolment_code_refused": "Enrolment code refused",
    "account.enrolment_code_accepted": "Enrolment code accepted",
    "account.unlocked": "Sign-in pause lifted",
    "account.change_requested": "Account change requested (awaiting a second administrator)",
    "account.change_approved": "Account change approved by a second administrator",
    "account.change_refused": "Account change refused by a second administrator",
}


# Roles whose grant takes effect only when a second administrator approves it (four eyes).
FOUR_EYES_ROLES = SECOND_FACTOR_ROLES


class AccountChangeKind(models.TextChoices):
    """A change to an account that one administrator alone may not make."""

    GRANT_ROLES = "grant_roles", "Grant roles"
    REMOVE_AUTHENTICATOR = "remove_authenticator", "Remove the authenticator app"


class AccountChangeState(models.TextChoices):
    """Where a four-eyes account change stands."""

    PENDING = "pending", "Awaiting a second administrator"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"


class LockoutKey(models.TextChoices):
    """What repeated failed sign-ins are counted against."""

    USERNAME_AT_ADDRESS = "username_at_address", "Account from one address"
    USERNAME = "username", "Account, from any address (the username as typed)"
    ADDRESS = "address", "IP address"
