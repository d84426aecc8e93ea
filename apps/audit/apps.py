"""The audit app: the transparency log, the access log and their verification."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Registers the audit app's own actions and permission rules, and the data key store of crypto-shredding."""

    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self):
        from django.core import checks

        from govern import encryption
        from govern.keyfiles import check_key_files

        from . import permissions  # noqa: F401  (declares the rules)
        from .checks import check_redaction_floor
        from .choices import AUDIT_ACTIONS
        from .data_keys import unwrapped
        from .registry import register

        for name, (label, kind) in AUDIT_ACTIONS.items():
            register(name, label, kind)
        checks.register(check_key_files, checks.Tags.security)
        checks.register(check_redaction_floor, checks.Tags.database)
        encryption.register_data_key_store(unwrapped)
