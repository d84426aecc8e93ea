"""Checkpoints become C2SP signed notes of the log's origin; the checkpoints already signed keep an empty origin, which
marks the first format (its time signed into the body), so they still verify as they were signed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_redaction_floor")]

    operations = [
        migrations.AddField(
            model_name="checkpoint",
            name="origin",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The log's name in the signed note (c2sp.org/tlog-checkpoint); empty in the first format.",
                max_length=255,
            ),
        ),
        migrations.AlterField(
            model_name="checkpoint",
            name="timestamp",
            field=models.CharField(
                help_text="When it was signed (ISO 8601): the log's record, signed into the body only in the first format.",
                max_length=40,
            ),
        ),
    ]
