"""`manage.py alerts_retention [--dry-run]`: delete the probes of false alerts past retention, with receipts."""

from django.core.management.base import BaseCommand

from ... import services


class Command(BaseCommand):
    """Idempotent; evidential holds stop it; Celery beat runs it daily."""

    help = "Delete the probes of false alerts older than ALERT_FALSE_RETENTION_DAYS that are not on hold."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be deleted; change nothing.")

    def handle(self, *args, dry_run=False, **options):
        done = services.retention_sweep(dry_run=dry_run)
        self.stdout.write(f"{'would delete' if dry_run else 'deleted'} the probes of {len(done)} false alert(s).")
