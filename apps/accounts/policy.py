"""The permission policy: which role may do which action, on which objects.

Permissions are data: each app declares its rules in its own `permissions.py` (loaded when the app is ready).
A rule names the roles that may act, optionally a `check` for one object and a `scope` (a Q) that restricts
querysets, so `Model.objects.restrict(user, "view")` and `may(user, "app.view_model", obj)` always agree.
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
    check: Callable | None = None  # (user, obj) -> bool, for one object
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


def may(user, action: str, obj=None) -> bool:
    """Whether `user` may perform `action` (on `obj`, when given)."""
    declared = get_rule(action)
    if not _active(user) or not user.has_role(*declared.roles):
        return False
    if obj is not None:
        if declared.check is not None and not declared.check(user, obj):
            return False
        if (
            declared.scope is not None
            and not type(obj)._default_manager.filter(pk=obj.pk).filter(declared.scope(user)).exists()
        ):
            return False
    return True


def require(user, action: str, obj=None) -> None:
    """Raise PermissionDenied unless `user` may perform `action`."""
    if not may(user, action, obj):
        declared = get_rule(action)
        raise PermissionDenied(f"You may not {declared.label.lower()}.")


def scope(user, action: str) -> Q:
    """The rows of the action's model that `user` may act on: nothing without the role."""
    declared = get_rule(action)
    if not _active(user) or not user.has_role(*declared.roles):
        return NOTHING
    return declared.scope(user) if declared.scope is not None else Q()
