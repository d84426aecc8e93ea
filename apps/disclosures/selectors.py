"""Reads of a Sarah's Law case (HackSoft's selectors): the case's pages and the API read it here, so each read is
checked by the policy and logged as one consultation (DPA 2018 s.62), the same whichever surface asked."""

from django.db import transaction

from apps.audit import access

from .models import DisclosureCase


@transaction.atomic
def case(actor, case: DisclosureCase, reason: str) -> DisclosureCase:
    """The whole case, personal data included (applicant, subject, children); logged with its stage."""
    return access.consulted(actor, "disclosures.view_disclosurecase", case, reason, {"stage": case.stage})
