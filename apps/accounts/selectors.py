"""Reads of another person's account (HackSoft's selectors): checked by the policy and logged as one consultation
(DPA 2018 s.62), the same whichever surface asked."""

from django.db import transaction

from apps.audit import services as audit
from govern import policy

from .models import User


@transaction.atomic
def user(actor, user: User, reason: str) -> User:
    """One account's record (name, roles, unit), for an administrator; logged."""
    policy.require(actor, "accounts.view_user", user)
    audit.record_access(user, actor, reason)
    return user
