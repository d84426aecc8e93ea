"""`manage.py outbox_dispatch [--dry-run]`: send the tasks that could not reach the broker when they were queued."""

from django.core.management.base import BaseCommand, CommandError

from ... import services


class Command(BaseCommand):
    """Idempotent: a message is sent once it is marked sent, and never again by this command."""

    help = "Send pending outbox messages to the broker (tasks queued while it was unreachable)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what is pending; send nothing.")

    def handle(self, *args, dry_run=False, **options):
        if dry_run:
            pending = services.pending()
            oldest = pending.first()
            since = f", the oldest queued {oldest.created_at:%Y-%m-%d %H:%M:%S}" if oldest else ""
            self.stdout.write(f"{pending.count()} message(s) pending{since} (dry run).")
            return
        result = services.dispatch()
        self.stdout.write(f"{result.sent} message(s) sent, {result.pending} pending.")
        if result.failed:
            raise CommandError(f"The broker refused a message ({result.error}); the rest stay pending.")
