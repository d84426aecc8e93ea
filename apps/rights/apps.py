"""The rights app: the desk for data-subject requests under DPA 2018 Part 3 (ss.45-48)."""

from django.apps import AppConfig


class RightsConfig(AppConfig):
    """Loads the permission rules and registers the audit actions."""

    name = "apps.rights"
    label = "rights"
    verbose_name = "Data-subject requests"

    def ready(self):
        from apps.audit.registry import register_all

        from . import permissions  # noqa: F401  (declares the rules)
        from .choices import AUDIT_ACTIONS, DISCLOSURE_ACTIONS, DISCLOSURE_KIND

        register_all(AUDIT_ACTIONS)
        register_all(DISCLOSURE_ACTIONS, DISCLOSURE_KIND)
