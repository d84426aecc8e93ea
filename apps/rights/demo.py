"""Synthetic data-subject requests for the desk: one past its month, one awaiting its decision, one granted with its
response pack to send, each handed in at the counter by the demo officer, so the demo privacy officer may decide.

Everything is invented and says so: every requester is "SYNTHETIC ...". Idempotent: a requester's request that
exists is left alone. No restriction is granted, so every demo subject stays free to be listed.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.watchlists.models import Subject

from . import services
from .choices import Channel, Decision, IdentityMethod, RequestKind
from .models import RightsRequest

MARK = "SYNTHETIC"


def _log(officer, name: str, kind: str, days_ago: int, details: str) -> RightsRequest | None:
    if RightsRequest.objects.filter(requester_name=name).exists():
        return None
    return services.log_request(
        officer, kind=kind, channel=Channel.IN_PERSON, requester_name=name, details=details,
        received_at=timezone.now() - datetime.timedelta(days=days_ago),
        requester_contact=f"{MARK} address, 1 Example Street, Demo Town",
    )  # fmt: skip


@transaction.atomic
def seed(stdout) -> None:
    """The desk's three demo requests."""
    officer, privacy = User.objects.filter(username="officer").first(), User.objects.filter(username="privacy").first()
    if officer is None or privacy is None:
        stdout.write("Data-subject requests: the demo officer or privacy officer is missing; none made.")
        return
    made = 0
    if _log(officer, f"{MARK} requester 1", RequestKind.ACCESS, 40, "") is not None:
        made += 1
    waiting = _log(officer, f"{MARK} requester 2", RequestKind.RESTRICTION, 10, f"{MARK}: I contest my record.")
    if waiting is not None:
        services.check_identity(privacy, waiting, method=IdentityMethod.IN_PERSON, note=f"{MARK}: seen at the desk")
        made += 1
    granted = _log(officer, f"{MARK} requester 3", RequestKind.ACCESS, 20, "")
    if granted is not None:
        subject = Subject.objects.exclude(pnc_id="").order_by("pk").first()
        if subject is not None:
            services.link_subject(privacy, granted, pnc_id=subject.pnc_id)
        services.check_identity(privacy, granted, method=IdentityMethod.PHOTO_DOCUMENT, note=f"{MARK}: passport seen")
        services.decide(privacy, granted, decision=Decision.GRANT, note=f"{MARK}: granted in full")
        made += 1
    stdout.write(f"Data-subject requests: {made} made (one overdue, one to decide, one granted with its pack).")
