"""`manage.py oversight_retention [--dry-run]`: apply the retention policies, then check what still does not fit."""

from django.core.management.base import BaseCommand

from apps.oversight import services


class Command(BaseCommand):
    """Delete what is past retention and not on hold, through each app's services, each with its receipt."""

    help = "Apply the retention policies (idempotent); --dry-run lists what would be deleted."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what is due; delete nothing.")

    def handle(self, *args, dry_run=False, **options):
        items = services.retention_sweep(dry_run=dry_run)
        for item in items:
            self.stdout.write(f"{item.outcome:<8} {item.data_class:<22} {item.target}  {item.detail}")
        deleted = sum(item.count for item in items if item.outcome == "deleted")
        held = sum(item.count for item in items if item.outcome == "held")
        due = sum(item.count for item in items if item.outcome == "due")
        self.stdout.write(f"{deleted} deleted, {due} due (dry run, or left to another service), {held} kept by holds.")
        if not dry_run:
            raised, resolved = services.check()
            self.stdout.write(f"{len(raised)} new finding(s) notified, {len(resolved)} resolved.")
