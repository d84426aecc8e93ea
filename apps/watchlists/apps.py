"""The watchlists app: subjects, custody images, watchlists and their approval."""

from django.apps import AppConfig


class WatchlistsConfig(AppConfig):
    """Loads the permission rules and registers the audit actions."""

    name = "apps.watchlists"
    label = "watchlists"
    verbose_name = "Watchlists"

    def ready(self):
        from apps.audit.registry import register_all

        from . import permissions  # noqa: F401  (declares the rules)
        from .choices import AUDIT_ACTIONS

        register_all(AUDIT_ACTIONS)
