"""`manage.py sweep_data_keys [--dry-run]`: shred the key store's leftover files (docs/security.md)."""

from django.core.management.base import BaseCommand

from ... import data_keys


class Command(BaseCommand):
    """Shred the files of destroyed data keys, and of keys whose row never committed (idempotent; beat runs it)."""

    help = "Shred data key files whose key was destroyed, or whose row never committed."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be shredded; shred nothing.")

    def handle(self, *args, dry_run=False, **options):
        done = data_keys.sweep(dry_run=dry_run)
        verb = "would shred" if dry_run else "shredded"
        self.stdout.write(
            f"{verb} {len(done.destroyed)} destroyed key file(s) and {len(done.orphans)} orphan key file(s)"
        )
