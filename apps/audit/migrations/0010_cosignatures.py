"""Witnesses' cosignatures of checkpoints (c2sp.org/tlog-cosignature), append-only like the checkpoints they sign."""

import django.db.models.deletion
from django.db import migrations, models

APPEND_ONLY = """
CREATE TRIGGER audit_cosignature_append_only BEFORE UPDATE OR DELETE ON audit_cosignature
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_cosignature_no_truncate BEFORE TRUNCATE ON audit_cosignature
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_cosignature_append_only ON audit_cosignature;
DROP TRIGGER IF EXISTS audit_cosignature_no_truncate ON audit_cosignature;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0009_search_stills_key_owner")]

    operations = [
        migrations.CreateModel(
            name="Cosignature",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "witness",
                    models.CharField(help_text="The witness's name, as its verifier key names it.", max_length=255),
                ),
                (
                    "key_hash",
                    models.CharField(help_text="The witness key's 4-byte hash, hex (type 0x04).", max_length=8),
                ),
                (
                    "cosigned_at",
                    models.BigIntegerField(help_text="The POSIX time the witness signed into its cosignature."),
                ),
                ("line", models.TextField(help_text="The signature line, as appended to the checkpoint's note.")),
                ("received_at", models.DateTimeField(auto_now_add=True)),
                (
                    "checkpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cosignatures",
                        to="audit.checkpoint",
                    ),
                ),
            ],
            options={"ordering": ["checkpoint", "witness"]},
        ),
        migrations.AddConstraint(
            model_name="cosignature",
            constraint=models.UniqueConstraint(
                fields=("checkpoint", "witness", "key_hash"), name="audit_cosignature_once"
            ),
        ),
        migrations.RunSQL(APPEND_ONLY, reverse_sql=DROP),
    ]
