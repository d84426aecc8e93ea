"""Reads of another person's account (HackSoft's selectors): checked by the policy and logged as one consultation
(DPA 2018 s.62), the same whichever surface asked."""

from collections.abc import Callable

from django.db import transaction
from django.db.models import QuerySet

from apps.audit import access
from apps.audit import services as audit
from govern import policy

from .models import User


@transaction.atomic
def user(actor, user: User, reason: str) -> User:
    """One account's record (name, roles, unit), for an administrator; logged."""
    return access.consulted(actor, "accounts.view_user", user, reason)


@transaction.atomic
def users(actor, reason: str, *, take: Callable[[QuerySet], list], surface: str = "") -> list[User]:
    """Accounts (names, ranks, warrant numbers, units, roles), for an administrator: what `take` shows of them (an
    API page, the admin's list), logged as one consultation with the ids shown."""
    policy.require(actor, "accounts.view_user")
    shown = list(take(User.objects.restrict(actor, "view").prefetch_related("groups")))
    data = {"results": [user.pk for user in shown], **({"surface": surface} if surface else {})}
    audit.record_access(("accounts.user", "list"), actor, reason, data=data)
    return shown
