"""API tokens carry their assurance (issued after a second factor or not) and the account stamp they were issued
under. Open tokens get the stamp of their account as it stands, so they keep working until the account changes;
none is taken to have had a second factor, so an account that needs one must ask for a new token."""

from django.db import migrations, models

from apps.accounts.models import account_stamp


def stamp_open_tokens(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    for token in ApiToken.objects.filter(revoked_at__isnull=True).select_related("user"):
        user = token.user
        roles = user.groups.values_list("name", flat=True)
        devices = TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).values_list("pk", flat=True)
        token.account_stamp = account_stamp(roles, user.rank, user.is_active, user.password, devices)
        token.save(update_fields=["account_stamp"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_enrolment_codes"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="account_stamp",
            field=models.CharField(
                blank=True, help_text="The account's roles, rank, password and authenticators at issue.", max_length=64
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="second_factor",
            field=models.BooleanField(
                default=False, help_text="Whether it was issued after a verified second factor (its assurance)."
            ),
        ),
        migrations.RunPython(stamp_open_tokens, migrations.RunPython.noop),
    ]
