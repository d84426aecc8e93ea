"""deployments.Outcome held a deployment's published figures and shared its name with matching's alert outcomes:
it is PublishedFigures now, `deployment.figures`. The rows and the constraint stay; the table is renamed."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0003_plan_revision_notice_time_later_list"),
    ]

    operations = [
        migrations.RenameModel(old_name="Outcome", new_name="PublishedFigures"),
        migrations.AlterField(
            model_name="publishedfigures",
            name="deployment",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT, related_name="figures", to="deployments.deployment"
            ),
        ),
    ]
