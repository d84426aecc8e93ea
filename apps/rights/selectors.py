"""Reads of a data-subject request (HackSoft's selectors): the page and the API read here, so each read is checked
by the policy and logged the same whichever surface asked (DPA 2018 s.62)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from apps.audit import access
from apps.audit import services as audit

from . import response_pack as packs
from .choices import Decision, RequestKind
from .models import RightsRequest


@transaction.atomic
def request(actor, request: RightsRequest, reason: str) -> RightsRequest:
    """The whole request, the requester's details included; logged with its state and the record it is linked to."""
    data = {"state": request.state, "subject": request.subject_id}
    return access.consulted(actor, "rights.view_rightsrequest", request, reason, data)


@transaction.atomic
def response_pack(actor, request: RightsRequest, reason: str) -> packs.Pack:
    """The access request's response pack (a zip): what is held about the person, where it came from, who consulted
    it and why, with other people's names redacted. Only for an access request granted after the identity check;
    producing it is a disclosure, logged with the files and their SHA-256."""
    access.consulted(actor, "rights.view_rightsrequest", request, reason, {"state": request.state, "pack": True})
    if request.kind != RequestKind.ACCESS or request.decision != Decision.GRANT:
        raise PermissionDenied("A response pack is produced only for an access request that was granted.")
    pack = packs.build(request)
    audit.record(
        "rights_request.pack",
        request,
        actor,
        data={"subject": request.subject_id, "files": pack.digests, "sha256": pack.sha256},
        reason=reason,
    )
    return pack
