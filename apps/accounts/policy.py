"""The permission policy: which role may do which action, on which objects.

Permissions are data: each app declares its rules in its own `permissions.py` (loaded when the app is ready).
A rule names the roles that may act, optionally a `check` for one object and a `scope` (a Q) that restricts
querysets, so `Model.objects.restrict(user, "view")` and `may(user, "app.view_model", obj)` always agree.
A check returns None when the user may act, or the reason they may not (shown to them as it is).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Q

from .choices import Role

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Rule:
    """Who may perform one action, and on which objects."""

    action: str
    roles: frozenset[Role]
    label: str
    check: Callable | None = None  # (user, obj) -> None, or the reason for refusing, for one object
    scope: Callable | None = None  # (user) -> Q, for querysets of the action's model


_RULES: dict[str, Rule] = {}


class UnknownAction(LookupError):
    """An action the policy does not know: a programming error, never a silent 'yes'."""


def rule(action: str, *, roles: Iterable[Role], label: str, check=None, scope=None) -> Rule:
    """Declare who may perform `action`."""
    if action in _RULES:
        raise ImproperlyConfigured(f"Permission rule {action!r} is declared twice.")
    declared = Rule(action, frozenset(Role(role) for role in roles), label, check, scope)
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
    """The user holds no role that may ever perform the action: a 403 on every page and endpoint, never a message."""


def _role_refusal(user, declared: Rule) -> str | None:
    if not _active(user):
        return "Sign in with an active account first."
    if not user.has_role(*declared.roles):
        return f"You may not {declared.label.lower()}: your role does not allow it."
    return None


def refusal(user, action: str, obj=None) -> str | None:
    """Why `user` may not perform `action` (on `obj`), or None when they may."""
    declared = get_rule(action)
    role = _role_refusal(user, declared)
    if role is not None:
        return role
    if obj is not None:
        if (
            declared.scope is not None
            and not type(obj)._default_manager.filter(pk=obj.pk).filter(declared.scope(user)).exists()
        ):
            return f"You may not {declared.label.lower()} on this record."
        if declared.check is not None:
            return declared.check(user, obj)
    return None


def may(user, action: str, obj=None) -> bool:
    """Whether `user` may perform `action` (on `obj`, when given)."""
    return refusal(user, action, obj) is None


def require(user, action: str, obj=None) -> None:
    """Raise PermissionDenied, with the reason, unless `user` may perform `action` (RoleRefused for the role)."""
    role = _role_refusal(user, get_rule(action))
    if role is not None:
        raise RoleRefused(role)
    reason = refusal(user, action, obj)
    if reason is not None:
        raise PermissionDenied(reason)


def scope(user, action: str) -> Q:
    """The rows of the action's model that `user` may act on: nothing without the role."""
    declared = get_rule(action)
    if not _active(user) or not user.has_role(*declared.roles):
        return NOTHING
    return declared.scope(user) if declared.scope is not None else Q()
