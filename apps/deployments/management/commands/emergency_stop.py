"""`manage.py emergency_stop [--deployment REF] --reason TEXT --as USER`: stop one deployment, or every authorised,
live or suspended deployment of the force, now, as a named commander or privacy officer (the same service as the page
and the API, so the same refusals and the same audit events). For when the web pages are out of reach."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from govern.errors import Conflict

from ... import services
from ...models import Deployment


class Command(BaseCommand):
    """Stop live capture now: one deployment, or all of the force's."""

    help = (
        "Stop one deployment (--deployment REF) or every authorised, live or suspended deployment of the force, with "
        "the reason, as a commander or privacy officer; a stopped deployment runs again only once authorised anew."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deployment", metavar="REF", help="The deployment's reference (default: every one).")
        parser.add_argument("--reason", required=True, help="Why capture stops (recorded on each deployment).")
        parser.add_argument(
            "--as", "--by", dest="username", required=True, help="The commander or privacy officer stopping it."
        )

    def handle(self, *args, deployment=None, reason, username, **options):
        actor = User.objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {username!r}.")
        target = None
        if deployment is not None:
            target = Deployment.objects.filter(reference=deployment).first()
            if target is None:
                raise CommandError(f"No deployment {deployment!r}.")
        try:
            stopped = services.emergency_stop(actor, reason, target)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except (PermissionDenied, Conflict) as exc:
            raise CommandError(str(exc)) from exc
        if not stopped:
            self.stdout.write("No deployment was authorised, live or suspended: nothing to stop.")
        for each in stopped:
            self.stdout.write(f"{each.reference} stopped: its cameras' frames are refused from now.")
