"""`manage.py enrolment_code <username> --reason "..."`: a one-time code to enrol an authenticator app.

For the server's operator, who has no administrator above them: the first administrator's code comes from here.
Afterwards administrators issue codes in the admin site. The code is printed once and logged as an event (never the
code itself).
"""

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from apps.accounts.services import two_factor


class Command(BaseCommand):
    help = "Issue a one-time enrolment code for a person's authenticator app (voids any earlier open code)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True, help="Why the code is issued (logged).")

    def handle(self, *args, username, reason, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active account {username!r}.")
        if not user.needs_second_factor:
            raise CommandError(f"{username} signs in without a second factor: there is nothing to enrol.")
        try:
            code = two_factor.issue_enrolment_code(None, user, reason)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Enrolment code for {username}: {code}")
        self.stdout.write(
            f"Valid {two_factor.ENROLMENT_CODE_HOURS} hours, once. Give it to them in person or by phone."
        )
