"""Access-log retention may redact a consultation only once it is older than the law's minimum for the access log.

Migration 0005 let any UPDATE redact any consultation, a minute-old one too, so whoever held the application's
database credentials could erase who looked at whom. The trigger now also refuses unless the event is older than
ACCESS_LOG_MIN_DAYS, the access-log class's legal minimum (RETENTION_BOUNDS_DAYS), which the retention policy cannot go
below either. The floor is baked into `audit_redaction_floor_days()` when this migration runs: the trigger needs no
table the application could write, and a setting cannot lower it without a schema change. Changing ACCESS_LOG_MIN_DAYS
therefore means re-creating the function (`manage.py migrate audit 0006` then `manage.py migrate audit`); until then
the `audit.E010` check reports that the database's floor differs from the setting.
"""

from django.conf import settings
from django.db import migrations

_REDACT = r"""
CREATE OR REPLACE FUNCTION audit_event_redact() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_old json;
BEGIN
    IF OLD.action <> 'record.consulted' OR OLD.canonical LIKE '{"redacted":%%' THEN
        RAISE EXCEPTION 'The audit log is append-only: UPDATE on audit_event is refused.'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    %(floor)s
    v_old := OLD.canonical::json;
    NEW := OLD;
    NEW.actor_id := NULL;
    NEW.actor_username := '(redacted)';
    NEW.target_id := '';
    NEW.reason := '';
    NEW.canonical := '{"redacted":"' || encode(OLD.leaf_hash, 'hex') || '",' || substring(json_build_object(
        'v', 1, 'seq', OLD.seq, 'time', v_old->'time', 'actor_id', NULL, 'actor', '(redacted)',
        'request_id', OLD.request_id, 'action', OLD.action, 'target_type', OLD.target_type, 'target_id', '',
        'reason', '', 'data', json_build_object())::text FROM 2);
    RETURN NEW;
END
$$;
"""

_FLOOR_CHECK = """IF OLD.created_at >= clock_timestamp() - make_interval(days => audit_redaction_floor_days()) THEN
        RAISE EXCEPTION 'The access log is kept % days: a consultation younger than that cannot be redacted.',
            audit_redaction_floor_days() USING ERRCODE = 'insufficient_privilege';
    END IF;"""


def _install(apps, schema_editor):
    days = int(settings.ACCESS_LOG_MIN_DAYS)
    schema_editor.execute(
        "CREATE OR REPLACE FUNCTION audit_redaction_floor_days() RETURNS integer LANGUAGE sql STABLE "
        f"AS $$ SELECT {days} $$",
        None,
    )
    schema_editor.execute(_REDACT % {"floor": _FLOOR_CHECK}, None)  # None: the text's % signs are not placeholders


def _remove(apps, schema_editor):
    schema_editor.execute(_REDACT % {"floor": ""}, None)
    schema_editor.execute("DROP FUNCTION IF EXISTS audit_redaction_floor_days()", None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_data_keys")]

    operations = [migrations.RunPython(_install, _remove)]
