"""What the disclosures app shows under a facial recognition alert: its linked case, or the action that opens one."""

from django.template.loader import render_to_string

from apps.matching.choices import AlertState
from govern import policy

from .models import DisclosureCase


def alert_panel(request, alert) -> str:
    """Shown to case workers (and privacy officers): the case opened from this alert, or the one-click action."""
    user = request.user
    if not policy.may(user, "disclosures.view_disclosurecase"):
        return ""
    cases = list(DisclosureCase.objects.restrict(user, "view").filter(alert=alert).order_by("opened_at"))
    may_open = (
        not cases
        and alert.subject is not None  # erased
        and alert.subject.registered_sex_offender
        and alert.state != AlertState.PENDING
        and not alert.found_false
        and policy.may(user, "disclosures.add_disclosurecase")
    )
    if not cases and not may_open:
        return ""
    return render_to_string(
        "disclosures/alert_panel.html", {"alert": alert, "cases": cases, "may_open": may_open}, request
    )
