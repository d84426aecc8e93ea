"""The deployments app: where and when live facial recognition runs, and the gate it must pass."""

from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    """Loads the permission rules and registers the audit actions."""

    name = "apps.deployments"
    label = "deployments"
    verbose_name = "Deployments"

    def ready(self):
        from apps.audit.registry import register_all

        from . import permissions  # noqa: F401  (declares the rules)
        from .choices import AUDIT_ACTIONS

        register_all(AUDIT_ACTIONS)
