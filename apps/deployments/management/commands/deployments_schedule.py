"""`manage.py deployments_schedule [--dry-run]`: move deployments through their day."""

from django.core.management.base import BaseCommand

from ... import services


class Command(BaseCommand):
    """Idempotent: go live when the gate passes (or record why not), complete at the end; Celery beat runs it."""

    help = "Go live at the start when the gate passes, complete at the end, cancel what never went live."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be done; change nothing.")

    def handle(self, *args, dry_run=False, **options):
        actions = services.run_schedule(dry_run=dry_run)
        for action in actions:
            self.stdout.write(f"{'would ' if dry_run else ''}{action.action} {action.reference}: {action.detail}")
        self.stdout.write(f"{len(actions)} action(s){' (dry run)' if dry_run else ''}.")
