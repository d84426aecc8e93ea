from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("matching", "0007_engine_evaluation"),
    ]

    operations = [
        migrations.AddField(
            model_name="cameracredential",
            name="last_used_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When a frame last came with it; at most a minute or two behind (written once a minute at most).",
                null=True,
            ),
        ),
    ]
