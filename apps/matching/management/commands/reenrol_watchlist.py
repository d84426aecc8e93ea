"""`manage.py reenrol_watchlist REFERENCE --as USER --reason TEXT`: an approved list's version in force enrolled on
the engine in use, from its entries' stored images, after the engine was changed (logged as `templates.reenrolled`)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from apps.matching.services import enrolment
from apps.watchlists.models import Watchlist
from govern.errors import Conflict


class Command(BaseCommand):
    """Re-enrol an approved watchlist on the engine in use, as a named authorising officer."""

    help = "Enrol an approved watchlist's version in force on the face engine in use, from its stored images."

    def add_arguments(self, parser):
        parser.add_argument("reference", help="The watchlist's reference")
        parser.add_argument("--as", dest="username", required=True, help="Who does it (recorded)")
        parser.add_argument("--reason", required=True, help="Why (recorded), e.g. the engine changed")

    def handle(self, *args, reference, username, reason, **options):
        actor = User.objects.filter(username=username).first()
        if actor is None:
            raise CommandError(f"No user {username!r}.")
        watchlist = Watchlist.objects.filter(reference=reference).first()
        if watchlist is None:
            raise CommandError(f"No watchlist {reference!r}.")
        try:
            result = enrolment.reenrol(actor, watchlist, reason=reason)
        except (ValidationError, PermissionDenied, Conflict) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise CommandError(message) from exc
        self.stdout.write(f"{watchlist.reference}: {result.enrolled} templates on the engine in use.")
