"""Ranks, roles and the audit actions of the accounts app."""

from django.db import models


class Rank(models.TextChoices):
    """Police ranks, in order of seniority; police staff and partners hold none."""

    CONSTABLE = "constable", "Police Constable"
    SERGEANT = "sergeant", "Police Sergeant"
    INSPECTOR = "inspector", "Inspector"
    CHIEF_INSPECTOR = "chief_inspector", "Chief Inspector"
    SUPERINTENDENT = "superintendent", "Superintendent"
    CHIEF_SUPERINTENDENT = "chief_superintendent", "Chief Superintendent"
    COMMANDER = "commander", "Commander and above"


# Seniority: a higher number outranks a lower one. Police staff (no rank) rank below every officer.
SENIORITY = {rank: position for position, rank in enumerate(Rank, start=1)}


class Role(models.TextChoices):
    """What a person does in Govern; each role is a Django group of the same name."""

    OFFICER = "officer", "Officer"
    WATCHLIST_COMPILER = "watchlist_compiler", "Watchlist compiler"
    AUTHORISING_OFFICER = "authorising_officer", "Authorising officer"
    PRIVACY_OFFICER = "privacy_officer", "Privacy officer"
    OVERSIGHT = "oversight", "Oversight"
    RETAIL_PARTNER = "retail_partner", "Retail partner"
    ADMINISTRATOR = "administrator", "Administrator"


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


# Roles that must sign in with a second factor (a TOTP code from an authenticator app) after the password.
SECOND_FACTOR_ROLES = frozenset({Role.AUTHORISING_OFFICER, Role.PRIVACY_OFFICER, Role.ADMINISTRATOR})
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
