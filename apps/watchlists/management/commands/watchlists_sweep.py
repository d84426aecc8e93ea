"""`manage.py watchlists_sweep [--dry-run]`: lapse unratified urgent approvals, expire ended lists, purge old ones."""

from django.core.management.base import BaseCommand

from ...services import watchlists


class Command(BaseCommand):
    """Idempotent: run it as often as you like (Celery beat runs it every few minutes)."""

    help = "Lapse unratified urgent approvals, expire ended watchlists, purge expired ones (keeping manifests)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be done; change nothing.")

    def handle(self, *args, dry_run=False, **options):
        actions = watchlists.sweep(dry_run=dry_run)
        verb = "would" if dry_run else "did"
        for action in actions:
            self.stdout.write(f"{verb} {action.action} {action.reference}: {action.detail}")
        self.stdout.write(f"{len(actions)} action(s){' (dry run)' if dry_run else ''}.")
