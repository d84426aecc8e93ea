"""`manage.py disclosures_overdue`: the open Sarah's Law cases past a deadline, for the unit's daily review.

References, stages and officers only: no name of an applicant, child or subject is printed.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from ...models import DisclosureCase


class Command(BaseCommand):
    """List overdue cases, the longest overdue first; exit quietly when there are none."""

    help = "List open Sarah's Law cases past one of their deadlines (no personal data)."

    def handle(self, *args, **options):
        now = timezone.now()
        overdue = DisclosureCase.objects.overdue(now).select_related("officer_in_charge").order_by("next_due", "id")
        for case in overdue:
            deadline = case.next_deadline(now)
            self.stdout.write(
                f"{case.reference}\t{case.stage_label}\t{deadline.label} was due "
                f"{timezone.localtime(deadline.due):%Y-%m-%d %H:%M}\t{case.officer_in_charge.get_username()}"
            )
        self.stdout.write(f"{overdue.count()} overdue case(s).")
