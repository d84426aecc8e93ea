"""Erasure of a subject or of one custody image (DPA 2018 s.47; the Home Office's 2017 custody images review and RMC v
Commissioner [2012] EWHC 1681 give unconvicted people a route to it): every copy goes in one transaction, or none.

In order, each with its receipt in the audit log:
- matching's copies, through the signals `custody_images_erasing` and `subject_erasing`
  (apps.matching.services.custody_erasure): custody templates and their projections, which every search process's
  graph drops at its next search (custody_graph.Graph.sync) and the graph files stop naming; the subject's watchlist
  templates made from the images, and the subject's others; the erased in candidate lists. Matching refuses (409,
  nothing changed) while an alert under evidential hold or not yet judged, or an identification in a search still
  open, holds the person as evidence: s.47(2) says to restrict processing instead; any other alert or identification
  stays, detached from them;
- their entries on lists not yet purged: a list submitted, approved or returned becomes a new draft version without
  them, to approve again (watchlists.erase_entries);
- what review snapshots and purge manifests say of them, reduced to their id and category;
- the images (their encrypted bytes), their restrictions and the subject, then every history row of each
  (django-simple-history writes one more on each delete, so the history goes last).

A receipt commits to what went (counts, ids, HMAC commitments of the identity and of each image's hash), never to the
data itself. Erasing what is already gone returns None and writes nothing, so a retried request is harmless.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from apps.audit import services as audit
from govern import policy, records
from govern.errors import Conflict

from .. import signals
from ..models import CustodyImage, Entry, Subject, SubjectRestriction
from . import image_keys, watchlists

MIN_REASON = 10


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed, as its receipt in the log records it."""

    seq: int  # the receipt's event in the audit log
    images: int
    lists_changed: list[int]
    history_rows: int


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError({"reason": "Say why this is erased (the request, or the decision it carries out)."})
    return reason


def _erase_images(actor, images: list[CustodyImage], subject_id: int, now, why: str) -> tuple[list[str], list[int]]:
    """Send the images' erasure to the apps above, take their entries off lists, delete the images and the entries'
    history. Returns the commitments to the images' hashes, and the lists changed."""
    ids = [image.pk for image in images]
    signals.custody_images_erasing.send(CustodyImage, image_ids=ids, subject_id=subject_id)
    changed = watchlists.erase_entries(actor, Entry.objects.filter(image_id__in=ids), now, why)
    CustodyImage.objects.filter(pk__in=ids).delete()
    return [audit.commitment(image.sha256) for image in images], changed


@transaction.atomic
def delete_custody_image(actor, image_id: int, *, reason: str, now=None) -> Erasure | None:
    """Erase one custody image and its copies: templates, projections, the lists it was on (a new version each)."""
    policy.require(actor, "watchlists.erase_custodyimage")
    why = _reason(reason)
    now = records.moment(now)
    # The subject's row first (as an upload and the rekeying take it), then the image: one order for all, no deadlock.
    subject_id = CustodyImage.objects.filter(pk=image_id).values_list("subject_id", flat=True).first()
    Subject.objects.select_for_update(no_key=True).filter(pk=subject_id).values_list("pk", flat=True).first()
    image = CustodyImage.objects.select_for_update().filter(pk=image_id).first()
    if image is None:
        return None
    commitments, changed = _erase_images(actor, [image], image.subject_id, now, why)
    # The subject's other images go under a new data key and the shared one is destroyed, so this image's copies in
    # the write-ahead log, backups and replicas can no longer be read (crypto-shredding, docs/security.md).
    data_key = image_keys.rekey_subject(image.subject)
    event = audit.record(
        "custody_image.erase",
        ("watchlists.custodyimage", image_id),
        actor,
        data={"subject": image.subject_id, "image": commitments[0], "lists_changed": changed, "data_key": data_key},
        reason=why,
    )
    return Erasure(event.seq, 1, changed, 0)


@transaction.atomic
def delete_subject(actor, subject_id: int, *, reason: str, now=None) -> Erasure | None:
    """Erase a person: their images and every copy, their entries, what snapshots and manifests say of them, their
    restrictions, the subject, and the history rows of each."""
    policy.require(actor, "watchlists.erase_subject")
    return _erase_subject(actor, subject_id, _reason(reason), records.moment(now))


@transaction.atomic
def erase_past_retention(subject_id: int, *, hours: int, now=None) -> Erasure | None:
    """The retention sweep's erasure of a subject whose period has run out: the same erasure, by no one, the period
    its reason. Refused (Conflict) like any other while evidence holds the person."""
    why = f"The custody images retention period ({hours} h) ran out with nothing new on this subject."
    return _erase_subject(None, subject_id, why, records.moment(now))


def _erase_subject(actor, subject_id: int, why: str, now) -> Erasure | None:
    # FOR NO KEY UPDATE: a second erasure of the same person waits here (then finds nothing), while an edit that
    # already holds a list and takes the key share of a new entry's foreign key is not made to deadlock with it.
    subject = Subject.objects.select_for_update(no_key=True).filter(pk=subject_id).first()
    if subject is None:
        return None
    identity = {field: getattr(subject, field) for field in ("family_name", "given_names", "date_of_birth", "pnc_id")}
    images = list(CustodyImage.objects.select_for_update().filter(subject=subject).order_by("pk"))
    commitments, changed = _erase_images(actor, images, subject_id, now, why)
    signals.subject_erasing.send(Subject, subject_id=subject_id)
    changed = sorted({*changed, *watchlists.erase_entries(actor, Entry.objects.filter(subject=subject), now, why)})
    redacted = watchlists.redact_erased_subject(subject_id)
    restrictions = list(SubjectRestriction.objects.filter(subject=subject).values_list("pk", flat=True))
    SubjectRestriction.objects.filter(pk__in=restrictions).delete()
    data_key = image_keys.destroy_subject_key(subject)  # every copy of their images beyond reach is unreadable now
    try:
        subject.delete()
    except ProtectedError as held:  # a record above (a Sarah's Law case) keeps the person: nothing is erased
        names = sorted({obj._meta.verbose_name for obj in held.protected_objects})
        raise Conflict(
            f"Subject {subject_id} is held by {', '.join(names)}: those records must close or let go of them first."
        ) from held
    history = (
        Subject.history.filter(id=subject_id).delete()[0]
        + SubjectRestriction.history.filter(id__in=restrictions).delete()[0]
        + Entry.history.filter(subject_id=subject_id).delete()[0]
    )
    event = audit.record(
        "subject.erase",
        ("watchlists.subject", subject_id),
        actor,
        data={
            "identity": audit.commitment(identity),
            "images": commitments,
            "lists_changed": changed,
            "snapshots_redacted": redacted,
            "restrictions": len(restrictions),
            "history_rows": history,
            "data_key": data_key,
        },
        reason=why,
    )
    return Erasure(event.seq, len(images), changed, history)
