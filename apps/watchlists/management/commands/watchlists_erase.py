"""`manage.py watchlists_erase subject|image <id> --as <privacy officer> --reason "..."`: erase a subject (or one
custody image) and every copy, as the named privacy officer, who answers for it in the log. Anyone else is refused;
erasing what is already gone changes nothing."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from govern.errors import Conflict

from ...services import erasure

SERVICES = {"subject": erasure.delete_subject, "image": erasure.delete_custody_image}


class Command(BaseCommand):
    help = "Erase a subject or a custody image with every copy (templates, graph, lists, history), with receipts."

    def add_arguments(self, parser):
        parser.add_argument("what", choices=sorted(SERVICES))
        parser.add_argument("id", type=int)
        parser.add_argument("--as", dest="username", required=True, help="The privacy officer who erases it.")
        parser.add_argument("--reason", required=True, help="Why (the request it carries out); logged.")

    def handle(self, *args, what, id, username, reason, **options):
        actor = User.objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active account {username!r}.")
        try:
            done = SERVICES[what](actor, id, reason=reason)
        except (PermissionDenied, Conflict) as exc:
            raise CommandError(str(exc) or "You may not do this.") from exc
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if done is None:
            self.stdout.write(f"Nothing held as {what} {id}: erased already, or never recorded. Nothing changed.")
            return
        lists = ", ".join(map(str, done.lists_changed)) or "none"
        self.stdout.write(
            f"Erased {what} {id}: {done.images} image(s); lists now a new draft version: {lists}; "
            f"receipt: audit event {done.seq}."
        )
