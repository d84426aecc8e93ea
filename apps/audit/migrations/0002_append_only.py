"""The database itself refuses UPDATE, DELETE and TRUNCATE on the log's tables, whoever asks."""

from django.db import migrations

APPEND_ONLY_TABLES = ["audit_event", "audit_treenode", "audit_checkpoint"]

FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'The audit log is append-only: % on % is refused.', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

TRIGGERS = "".join(
    f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""
    for table in APPEND_ONLY_TABLES
)

DROP = (
    "".join(
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};\nDROP TRIGGER IF EXISTS {table}_no_truncate ON {table};\n"
        for table in APPEND_ONLY_TABLES
    )
    + "DROP FUNCTION IF EXISTS audit_refuse_change();\n"
)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(FUNCTION + TRIGGERS, reverse_sql=DROP)]
