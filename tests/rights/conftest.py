"""Fixtures of the requests desk's tests: two privacy officers (four eyes), and requests at each state."""

import datetime
import zoneinfo

import pytest

from apps.rights import services
from apps.rights.choices import Channel, Decision, IdentityMethod, RequestKind
from govern.roles import Role

LONDON = zoneinfo.ZoneInfo("Europe/London")
REASON = "Working data-subject request DSR desk"


@pytest.fixture
def desk(make_user, actors):
    """The privacy officers of the desk: `privacy` (the shared actor) logs, `privacy2` decides."""

    class Desk:
        privacy = actors.privacy
        privacy2 = make_user("privacy2", Role.PRIVACY_OFFICER)

    return Desk


def logged(actor, kind=RequestKind.ACCESS, received_at=None, **overrides):
    """A request as it arrived by post, from the gallery's adult (Adam Example)."""
    fields = {
        "kind": kind,
        "channel": Channel.POST,
        "received_at": received_at or datetime.datetime.now(LONDON).replace(microsecond=0),
        "requester_name": "Adam Example",
        "requester_date_of_birth": datetime.date(1990, 5, 17),
        "requester_contact": "12 High Street, London N1 1AA",
        "details": "Please tell me what you hold about me and who has looked at it.",
    }
    fields.update(overrides)
    return services.log_request(actor, **fields)


def verified(actor, request, subject=None):
    """Linked to the record (when one is given) and identity checked."""
    if subject is not None:
        services.link_subject(actor, request, pnc_id=subject.pnc_id)
    return services.check_identity(
        actor, request, method=IdentityMethod.PHOTO_DOCUMENT, note="Passport seen at the counter, photo matches"
    )


def granted(logger, decider, request, subject=None):
    """Verified and granted; an erasure records the person as not convicted (the presumption of deletion)."""
    verified(logger, request, subject)
    convicted = False if request.kind == RequestKind.ERASURE else None
    return services.decide(decider, request, decision=Decision.GRANT, note="Granted in full", convicted=convicted)
