"""The registry of audit actions: namespaced names with a human label, so the log reads like a ledger."""

import re
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from .choices import ActionKind

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class Action:
    """One kind of event in the log."""

    name: str
    label: str
    kind: str = ActionKind.CHANGE


class UnknownAction(LookupError):
    """An action name nobody registered: recording it is refused."""


_ACTIONS: dict[str, Action] = {}


def register(name: str, label: str, kind: str = ActionKind.CHANGE) -> Action:
    """Add an action; re-registering the same name with the same label is harmless."""
    if not _NAME.match(name):
        raise ImproperlyConfigured(
            f"Audit action {name!r} must be a namespaced lower-case name like 'watchlist.approve'."
        )
    action = Action(name, label, ActionKind(kind))
    existing = _ACTIONS.get(name)
    if existing is not None and existing != action:
        raise ImproperlyConfigured(f"Audit action {name!r} is registered twice with different meanings.")
    _ACTIONS[name] = action
    return action


def register_all(actions: dict[str, str], kind: str = ActionKind.CHANGE) -> None:
    """Register a mapping of name to label."""
    for name, label in actions.items():
        register(name, label, kind)


def get(name: str) -> Action:
    """The registered action, or UnknownAction."""
    try:
        return _ACTIONS[name]
    except (KeyError, TypeError):
        raise UnknownAction(f"Unknown audit action {name!r}; register it in the app's choices.") from None


def all_actions() -> list[Action]:
    """Every registered action, by name."""
    return sorted(_ACTIONS.values(), key=lambda action: action.name)
