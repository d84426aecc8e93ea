"""The permission policy: which role may do which action, on which objects.

Part of the kernel (with govern.roles and govern.restricted): it imports no app, so every app may declare rules.

Permissions are data: each app declares its rules in its own `permissions.py` (loaded when the app is ready).
A rule names the roles that may act; optionally `actor`, a condition on the person alone (rank, unit), which holds
on every call, with or without an object; a `check` for one object; and a `scope` (a Q) that restricts querysets,
so `Model.objects.restrict(user, "view")` and `may(user, "app.view_model", obj)` always agree. A condition returns
None when the user may act, or the reason they may not (shown to them as it is).

Every rule also holds the second factor: a person of a role that signs in with one, on a request whose session or
token did not verify it, is refused (requests mark such a user; code with no request, tests and commands, has none).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Q

from .roles import Rank, Role

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Rule:
    """Who may perform one action, and on which objects."""

    action: str
    roles: frozenset[Role]
    label: str
    check: Callable | None = None  # (user, obj) -> None, or the reason for refusing, for one object
    scope: Callable | None = None  # (user) -> Q, for querysets of the action's model
    actor: Callable | None = None  # (user) -> None, or the reason for refusing, whatever the object


_RULES: dict[str, Rule] = {}


class UnknownAction(LookupError):
    """An action the policy does not know: a programming error, never a silent 'yes'."""


def rule(action: str, *, roles: Iterable[Role], label: str, check=None, scope=None, actor=None) -> Rule:
    """Declare who may perform `action`."""
    if action in _RULES:
        raise ImproperlyConfigured(f"Permission rule {action!r} is declared twice.")
    declared = Rule(action, frozenset(Role(role) for role in roles), label, check, scope, actor)
    _RULES[action] = declared
    return declared


def rules() -> dict[str, Rule]:
    """Every declared rule, by action."""
    return dict(_RULES)


def get_rule(action: str) -> Rule:
    """The rule for an action, or UnknownAction."""
    try:
        return _RULES[action]
    except KeyError:
        raise UnknownAction(f"No permission rule for {action!r}.") from None


def _active(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


class RoleRefused(PermissionDenied):
    """The person may not perform the action on any object (role, rank, unit, second factor): a 403 on every page
    and endpoint, never a message."""


SECOND_FACTOR_MISSING = "Enter your two-factor code first: your role signs in with a second factor."


def minimum_rank(setting: str, doing: str) -> Callable:
    """An actor condition: the user's rank is at least the one named by `setting` (read at each call)."""

    def condition(user) -> str | None:
        minimum = getattr(settings, setting)
        if user.outranks_or_equals(minimum):
            return None
        held = user.get_rank_display() or "none"
        return f"Only a {Rank(minimum).label} or above {doing}; your rank is {held}."

    return condition


def _actor_refusal(user, declared: Rule) -> str | None:
    """What refuses the person whatever the object: no active account, no role, no second factor, the rule's own."""
    if not _active(user):
        return "Sign in with an active account first."
    if not user.has_role(*declared.roles):
        return f"You may not {declared.label.lower()}: your role does not allow it."
    if getattr(user, "second_factor_missing", False) and user.needs_second_factor:
        return SECOND_FACTOR_MISSING
    if declared.actor is not None:
        return declared.actor(user)
    return None


def refusal(user, action: str, obj=None) -> str | None:
    """Why `user` may not perform `action` (on `obj`), or None when they may."""
    declared = get_rule(action)
    return _actor_refusal(user, declared) or _object_refusal(user, declared, obj)


def _object_refusal(user, declared: Rule, obj) -> str | None:
    """What refuses the person this one object, once the person may act at all."""
    if obj is None:
        return None
    # The check first: it says why; the scope's refusal can only say "not this record".
    reason = declared.check(user, obj) if declared.check is not None else None
    if reason is not None:
        return reason
    if (
        declared.scope is not None
        and not type(obj)._default_manager.filter(pk=obj.pk).filter(declared.scope(user)).exists()
    ):
        return f"You may not {declared.label.lower()} on this record."
    return None


def may(user, action: str, obj=None) -> bool:
    """Whether `user` may perform `action` (on `obj`, when given)."""
    return refusal(user, action, obj) is None


def require(user, action: str, obj=None) -> None:
    """Raise PermissionDenied, with the reason, unless `user` may perform `action` (RoleRefused when the refusal
    holds for every object: the role, the second factor or the rule's actor condition)."""
    declared = get_rule(action)
    standing = _actor_refusal(user, declared)
    if standing is not None:
        raise RoleRefused(standing)
    reason = _object_refusal(user, declared, obj)
    if reason is not None:
        raise PermissionDenied(reason)


def scope(user, action: str) -> Q:
    """The rows of the action's model that `user` may act on: nothing without the role."""
    declared = get_rule(action)
    if _actor_refusal(user, declared) is not None:
        return NOTHING
    return declared.scope(user) if declared.scope is not None else Q()
