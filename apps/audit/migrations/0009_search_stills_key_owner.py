"""A data key may also encrypt one retrospective search's stills (matching 0014 moves the stored ones under theirs)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0008_checkpoint_origin"),
    ]

    operations = [
        migrations.AlterField(
            model_name="datakey",
            name="owner_id",
            field=models.BigIntegerField(help_text="The subject's, alert's or search's id.", null=True),
        ),
        migrations.AlterField(
            model_name="datakey",
            name="owner_kind",
            field=models.CharField(
                choices=[
                    ("subject-images", "A subject's custody images"),
                    ("alert-probe", "An alert's probe"),
                    ("search-stills", "A retrospective search's stills"),
                ],
                max_length=16,
            ),
        ),
    ]
