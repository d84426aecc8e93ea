"""The oversight app: deletion reconciliation, retention, threshold governance, evidence bundles."""

from django.apps import AppConfig


class OversightConfig(AppConfig):
    """Loads the rules, registers the audit actions, adds the governed threshold to the go-live gate, the false
    alerts forecast to a watchlist's approval page, and that forecast's check to approving a list and authorising its
    deployment."""

    name = "apps.oversight"
    label = "oversight"
    verbose_name = "Oversight"

    def ready(self):
        from apps.audit.registry import register
        from apps.deployments.services import add_gate_condition
        from apps.watchlists.panels import register_review_panel
        from apps.watchlists.services.watchlists import add_approval_check

        from . import permissions  # noqa: F401  (declares the rules)
        from .choices import AUDIT_ACTIONS
        from .forecast import forecast_panel, list_size_refusal
        from .services import threshold_condition

        for name, (label, kind) in AUDIT_ACTIONS.items():
            register(name, label, kind)
        add_gate_condition(threshold_condition)
        register_review_panel(forecast_panel)
        add_approval_check(list_size_refusal)
