"""The policy's vocabulary: police ranks in order of seniority, and the roles people hold in Govern.

Part of the kernel (with govern.policy and govern.restricted): it imports no app, so every app may use it.
"""

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


# Roles that must sign in with a second factor (a TOTP code from an authenticator app) after the password.
SECOND_FACTOR_ROLES = frozenset({Role.AUTHORISING_OFFICER, Role.PRIVACY_OFFICER, Role.ADMINISTRATOR})
