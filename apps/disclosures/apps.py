"""The disclosures app: Sarah's Law (Child Sex Offender Disclosure Scheme) cases."""

from django.apps import AppConfig


class DisclosuresConfig(AppConfig):
    """Loads the permission rules, registers the audit actions and the panel shown on alerts."""

    name = "apps.disclosures"
    label = "disclosures"
    verbose_name = "Disclosures (Sarah's Law)"

    def ready(self):
        from apps.audit.registry import register_all
        from apps.matching.panels import register_alert_panel

        from . import permissions  # noqa: F401  (declares the rules)
        from .choices import AUDIT_ACTIONS, DISCLOSURE_ACTIONS, DISCLOSURE_KIND
        from .panels import alert_panel

        register_all(AUDIT_ACTIONS)
        register_all(DISCLOSURE_ACTIONS, DISCLOSURE_KIND)
        register_alert_panel(alert_panel)
