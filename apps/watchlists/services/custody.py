"""Subjects and their custody images, the gallery: validated, encrypted at rest, read only with a reason (through
`apps.watchlists.selectors`). Watchlists are compiled from it, and retrospective search enrols its images."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit import services as audit
from govern import policy, records, uploads
from govern.errors import Conflict

from .. import signals
from ..choices import LegalBasis
from ..models import CustodyImage, Subject
from . import image_keys, watchlists

SUBJECT_FIELDS = (
    "family_name",
    "given_names",
    "date_of_birth",
    "pnc_id",
    "sex",
    "ethnicity",
    "registered_sex_offender",
)


@transaction.atomic
def create_subject(actor, *, reason: str = "", **fields) -> Subject:
    """Record a person in the gallery."""
    policy.require(actor, "watchlists.add_subject")
    unknown = set(fields) - set(SUBJECT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown subject fields: {', '.join(sorted(unknown))}.")
    subject = Subject(created_by=actor, **fields)
    records.validate(subject, exclude=["created_by"])  # a date of birth before 1900 or in the future is refused
    subject.save()
    audit.record("subject.create", subject, actor, data=_subject_audit(subject), reason=reason)
    return subject


def _subject_data(subject: Subject) -> dict:
    return {field: getattr(subject, field) for field in SUBJECT_FIELDS}


def _subject_audit(subject: Subject) -> dict:
    """What the log keeps of a subject: equality fields in clear, identity only as a commitment."""
    identity = {field: getattr(subject, field) for field in ("family_name", "given_names", "date_of_birth", "pnc_id")}
    return {"sex": subject.sex, "ethnicity": subject.ethnicity, "identity": audit.commitment(identity)}


@transaction.atomic
def update_subject(actor, subject: Subject, *, reason: str, now=None, **changes) -> Subject:
    """Correct a subject's details; lists submitted or approved with the old details start a new version."""
    policy.require(actor, "watchlists.change_subject", subject)
    unknown = set(changes) - set(SUBJECT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown subject fields: {', '.join(sorted(unknown))}.")
    if not changes:
        raise ValidationError("Nothing to change.")
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Say why the subject's details change."})
    subject = Subject.objects.select_for_update().get(pk=subject.pk)
    before = _subject_data(subject)
    for field, value in changes.items():
        setattr(subject, field, value)
    records.validate(subject, exclude=["created_by"])
    after = _subject_data(subject)
    changed = sorted(field for field in changes if before[field] != after[field])
    if not changed:
        return subject
    subject.save()
    audit.record("subject.update", subject, actor, data={"changed": changed, **_subject_audit(subject)}, reason=reason)
    watchlists.subject_changed(actor, subject, records.moment(now), reason)
    return subject


@transaction.atomic
def upload_image(
    actor,
    subject: Subject,
    data: bytes,
    *,
    captured_on: datetime.date,
    source_system: str,
    legal_basis: str,
    legal_basis_note: str = "",
) -> CustodyImage:
    """Validate an image by its content, encrypt it and add it to the subject's images."""
    policy.require(actor, "watchlists.add_custodyimage")
    errors: dict = {}  # every problem at once
    try:
        checked = uploads.validate_image(data)
    except uploads.ImageRejected as exc:
        errors["image"] = [str(exc)]
    if legal_basis not in LegalBasis.values:
        errors["legal_basis"] = [f"Choose one of: {', '.join(LegalBasis.values)}."]
    if legal_basis == LegalBasis.OTHER_LAWFUL and not legal_basis_note.strip():
        errors["legal_basis_note"] = ["State the lawful basis for holding this image."]
    if not source_system.strip():
        errors["source_system"] = ["Record where the image came from."]
    if captured_on > timezone.localdate():
        errors["captured_on"] = ["The capture date is in the future."]
    if errors:
        raise ValidationError(errors)
    # The subject's row held (FOR NO KEY UPDATE, as an erasure holds it): an image erased at the same moment rekeys
    # the subject and destroys the key this one would be sealed under; the two take turns, so the new image is sealed
    # under the key that survives, or rekeyed with the rest.
    held = Subject.objects.select_for_update(no_key=True).filter(pk=subject.pk)
    if held.values_list("pk", flat=True).first() is None:
        raise Conflict(f"Subject {subject.pk} has been erased.")
    image = CustodyImage(
        subject=subject,
        captured_on=captured_on,
        source_system=source_system.strip(),
        legal_basis=legal_basis,
        legal_basis_note=legal_basis_note.strip(),
        uploaded_by=actor,
        content_type=checked.content_type,
        width=checked.width,
        height=checked.height,
        size_bytes=len(checked.content),
        sha256=checked.sha256,
    )
    image_keys.seal(image, checked.content)  # under the subject's data key: erasing them destroys it (crypto-shredding)
    image.save()
    signals.custody_image_uploaded.send(CustodyImage, image_id=image.pk)
    audit.record(
        "custody_image.upload",
        image,
        actor,
        data={
            "subject": subject.pk,
            "sha256": checked.sha256,
            "captured_on": captured_on,
            "legal_basis": legal_basis,
            "source_system": image.source_system,
            "width": checked.width,
            "height": checked.height,
        },
    )
    return image


def image_is_stale(image: CustodyImage, on: datetime.date | None = None) -> bool:
    """Whether the image is older than WATCHLIST_IMAGE_MAX_AGE_DAYS on the given day: flagged, not refused."""
    on = on or timezone.localdate()
    return (on - image.captured_on).days > settings.WATCHLIST_IMAGE_MAX_AGE_DAYS
