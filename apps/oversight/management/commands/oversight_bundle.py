"""`manage.py oversight_bundle --deployment REF | --start T --end T -o FILE --as USER`: write an evidence bundle."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from apps.accounts.models import User
from apps.deployments.models import Deployment
from apps.oversight import bundles


class Command(BaseCommand):
    """Build an evidence bundle as a named privacy officer or overseer (the export is logged under their name)."""

    help = "Write an evidence bundle (zip) for a deployment or a time range."

    def add_arguments(self, parser):
        parser.add_argument("--deployment", help="The deployment's reference, e.g. LFR-2026-0001")
        parser.add_argument("--start", help="ISO 8601 start of a time range")
        parser.add_argument("--end", help="ISO 8601 end of a time range")
        parser.add_argument("--as", dest="username", required=True, help="The privacy officer or overseer exporting")
        parser.add_argument("-o", "--output", required=True, help="Where to write the zip")

    def handle(self, *args, deployment=None, start=None, end=None, username=None, output=None, **options):
        actor = User.objects.filter(username=username).first()
        if actor is None:
            raise CommandError(f"No user {username!r}.")
        if deployment:
            found = Deployment.objects.filter(reference=deployment).first()
            if found is None:
                raise CommandError(f"No deployment {deployment!r}.")
            scope = bundles.Scope(deployment=found)
        else:
            begin, finish = parse_datetime(start or ""), parse_datetime(end or "")
            if begin is None or finish is None or finish <= begin:
                raise CommandError("Give --deployment, or --start and --end (ISO 8601, end after start).")
            scope = bundles.Scope(start=begin, end=finish)
        try:
            content, manifest = bundles.build(actor, scope)
        except bundles.BundleError as exc:
            raise CommandError(str(exc)) from exc
        with open(output, "wb") as fh:
            fh.write(content)
        self.stdout.write(
            f"Wrote {output}: events {manifest['first_seq']}-{manifest['last_seq']}, {len(content)} bytes."
        )
