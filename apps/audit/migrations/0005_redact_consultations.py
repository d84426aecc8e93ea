"""Access-log retention: a consultation event's personal payload can be redacted; nothing else can change.

The event stays in the tree: its position, time, action and leaf hash are kept, so every stored node, checkpoint and
proof still verifies. Whatever an UPDATE asks, the trigger writes the tombstone computed from the old row (who, what
and why blanked, the leaf hash it replaces named in the text), so an UPDATE can only ever redact a consultation;
anything else, and any DELETE, is refused as before.
"""

from django.db import migrations

REDACT = r"""
CREATE OR REPLACE FUNCTION audit_event_redact() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_old json;
BEGIN
    IF OLD.action <> 'record.consulted' OR OLD.canonical LIKE '{"redacted":%' THEN
        RAISE EXCEPTION 'The audit log is append-only: UPDATE on audit_event is refused.'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
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
DROP TRIGGER audit_event_append_only ON audit_event;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_event_redact_only BEFORE UPDATE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_redact();
"""

RESTORE = """
DROP TRIGGER IF EXISTS audit_event_redact_only ON audit_event;
DROP TRIGGER IF EXISTS audit_event_no_delete ON audit_event;
DROP FUNCTION IF EXISTS audit_event_redact();
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_access_review_indexes")]

    operations = [migrations.RunSQL(REDACT, reverse_sql=RESTORE)]
