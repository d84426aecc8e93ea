"""The accounts app: users, ranks, roles and the permission policy."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Loads the permission rules, the audit actions and the sign-in signal handlers."""

    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from apps.audit.registry import register_all

        from . import permissions, signals  # noqa: F401  (declare rules, connect handlers)
        from .choices import AUDIT_ACTIONS

        register_all(AUDIT_ACTIONS)
