"""`manage.py custody_index fit [--sample N]|status`: the custody search's projection and its graph."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ...models import CustodyReduced, CustodyTemplate
from ...services import custody_index


class Command(BaseCommand):
    """Fit the gallery's projection (and build its graph), or say which index the custody search uses."""

    help = "Custody search index: fit the projection of the gallery's templates, or show its status."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        fit = sub.add_parser("fit", help="Fit the projection on a random sample, project every template, build.")
        fit.add_argument("--sample", type=int, default=20_000, help="templates the projection is fitted on")
        sub.add_parser("status", help="Which index the custody search uses, and how much of the gallery it covers.")

    def handle(self, *args, subcommand, **options):
        if subcommand == "fit":
            if options["sample"] < custody_index.MIN_TEMPLATES:
                raise CommandError(f"--sample must be at least {custody_index.MIN_TEMPLATES:,}.")
            try:
                projection = custody_index.fit(sample=options["sample"])
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            self.stdout.write(
                f"Fitted {projection}: {projection.sample_size:,} templates sampled, "
                f"{projection.energy_kept:.1%} of their energy kept; "
                f"{CustodyReduced.objects.count():,} templates projected, and their graph built."
            )
            return
        found = custody_index.current()
        templates = CustodyTemplate.objects.count()
        if found is None:
            self.stdout.write(
                f"No projection: the custody search uses HNSW on the full vectors ({templates:,} templates)."
            )
            return
        projection, _ = found
        self.stdout.write(
            f"{projection}, fitted {projection.fitted_at:%Y-%m-%d %H:%M} on {projection.sample_size:,} templates "
            f"({projection.energy_kept:.1%} of the energy); {CustodyReduced.objects.count():,} of {templates:,} "
            "templates projected."
        )
