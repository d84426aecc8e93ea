"""The matching app: the face engine, templates, live capture, alerts and deletion receipts."""

from django.apps import AppConfig


class MatchingConfig(AppConfig):
    """Registers rules and actions, adds the engine and the list's enrolment on it to the go-live gate (and tells the
    list's and the deployment's pages where a list is enrolled), enrols lists when approved, revokes a retired asset's
    credentials, deletes an erased person's templates."""

    name = "apps.matching"
    label = "matching"
    verbose_name = "Matching"

    def ready(self):
        from apps.audit.api.filtersets import add_deployment_records
        from apps.audit.registry import register_all
        from apps.deployments.services import add_gate_condition
        from apps.deployments.signals import asset_retired
        from apps.watchlists.enrolments import register_enrolment_reader
        from apps.watchlists.signals import (
            custody_image_uploaded,
            custody_images_erasing,
            subject_erasing,
            watchlist_approved,
            watchlist_purging,
        )

        from . import permissions  # noqa: F401  (declares the rules)
        from .choices import AUDIT_ACTIONS
        from .selectors import deployment_records
        from .services.camera_credentials import revoke_on_retirement
        from .services.custody_erasure import erase_custody_templates, erase_subject_templates
        from .services.engine_approval import engine_condition
        from .services.enrolment import enrolment_condition, standing
        from .tasks import enrol_custody_on_upload, enrol_on_approval, purge_on_purging

        register_all(AUDIT_ACTIONS)
        add_gate_condition(engine_condition)
        add_gate_condition(enrolment_condition)
        register_enrolment_reader(standing)
        add_deployment_records(deployment_records)
        watchlist_approved.connect(enrol_on_approval, dispatch_uid="matching.enrol_on_approval")
        watchlist_purging.connect(purge_on_purging, dispatch_uid="matching.purge_on_purging")
        asset_retired.connect(revoke_on_retirement, dispatch_uid="matching.revoke_on_retirement")
        custody_image_uploaded.connect(enrol_custody_on_upload, dispatch_uid="matching.enrol_custody_on_upload")
        custody_images_erasing.connect(erase_custody_templates, dispatch_uid="matching.erase_custody_templates")
        subject_erasing.connect(erase_subject_templates, dispatch_uid="matching.erase_subject_templates")
