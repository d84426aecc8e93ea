"""System checks of the audit log's database side."""

from django.conf import settings
from django.core import checks
from django.db import DatabaseError, connections


def check_redaction_floor(databases=None, **kwargs):
    """The trigger's redaction floor (baked in by migration 0007) must be the access log's legal minimum in force: a
    lower floor lets the app's own role redact consultations the law still keeps, a higher one stops the sweep."""
    if not databases or "default" not in databases:
        return []
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT audit_redaction_floor_days()")
            days = cursor.fetchone()[0]
    except DatabaseError:
        return []  # not migrated yet: migrate installs it from the setting
    if days == settings.ACCESS_LOG_MIN_DAYS:
        return []
    return [
        checks.Error(
            f"The audit trigger redacts consultations older than {days} days; ACCESS_LOG_MIN_DAYS is "
            f"{settings.ACCESS_LOG_MIN_DAYS}.",
            hint="Re-create the trigger's floor: manage.py migrate audit 0006, then manage.py migrate audit.",
            id="audit.E010",
        )
    ]
