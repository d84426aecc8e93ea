"""Reads of another person's account (HackSoft's selectors): checked by the policy and logged as one consultation
(DPA 2018 s.62), the same whichever surface asked."""

from django.db import transaction

from apps.audit import access

from .models import User


@transaction.atomic
def user(actor, user: User, reason: str) -> User:
    """One account's record (name, roles, unit), for an administrator; logged."""
    return access.consulted(actor, "accounts.view_user", user, reason)
