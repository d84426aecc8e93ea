"""Reads of the gallery and of who is on a list (HackSoft's selectors): each checks the policy, reads, and logs one
consultation (DPA 2018 s.62) with the same data whichever surface asked; the pages and the API call the same one.

Services change state; selectors read. A list selector takes `take`, what the surface shows of the rows (the first
few, an API page), so the ids logged are the ids shown.
"""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from apps.audit import access
from apps.audit import services as audit
from govern import encryption, policy

from .filtersets import SubjectFilterSet
from .models import CustodyImage, Entry, Review, Subject, SubjectRestriction, Watchlist

SEARCH_FIELDS = tuple(SubjectFilterSet.base_filters)  # what a search may ask by; the query is logged as these


@transaction.atomic
def search_subjects(
    actor, query: dict, reason: str, *, take: Callable[[QuerySet], list], export: str = ""
) -> list[Subject]:
    """Subjects found by name, PNC ID or date of birth; logged with the query as a commitment and the ids shown (a
    search that finds nobody was still a search of personal data). An export (`export="csv"`) is logged as such,
    with every id exported."""
    policy.require(actor, "watchlists.view_subject")
    asked = {name: query[name] for name in SEARCH_FIELDS if query.get(name)}
    found = SubjectFilterSet(asked, queryset=Subject.objects.restrict(actor, "view").prefetch_related("images"))
    if not found.is_valid():
        raise ValidationError({name: list(errors) for name, errors in found.errors.items()})
    subjects = list(take(found.qs))
    audit.record_access(
        ("watchlists.subject", "search"),
        actor,
        reason,
        data={
            "query": audit.commitment(asked),
            "results": [subject.pk for subject in subjects],
            **({"export": export} if export else {}),
        },
    )
    return subjects


@transaction.atomic
def subject(actor, subject: Subject, reason: str) -> Subject:
    """One subject's record with their images' ids; logged with those ids."""
    return access.consulted(
        actor, "watchlists.view_subject", subject, reason, {"images": [image.pk for image in subject.images.all()]}
    )


@transaction.atomic
def custody_image(actor, image: CustodyImage, reason: str) -> CustodyImage:
    """A custody image's record (not its bytes); logged with whose it is."""
    return access.consulted(actor, "watchlists.view_custodyimage", image, reason, {"subject": image.subject_id})


@transaction.atomic
def image_content(actor, image: CustodyImage, reason: str) -> bytes:
    """A custody image's bytes; logged with whose it is and the hash of what was shown, before it is decrypted."""
    shown = {"subject": image.subject_id, "sha256": image.sha256}
    access.consulted(actor, "watchlists.view_custodyimage", image, reason, shown)
    return encryption.decrypt(bytes(image.ciphertext), associated_data=image.associated_data())


@transaction.atomic
def watchlist_entries(actor, watchlist: Watchlist, reason: str) -> list[Entry]:
    """Who is on the list and why; logged with the entries' ids. An officer sees which lists exist, not who is on
    them: their read shows no entry."""
    policy.require(actor, "watchlists.view_watchlist", watchlist)
    entries = list(
        Entry.objects.restrict(actor, "view")
        .filter(watchlist=watchlist)
        .select_related("subject", "image")
        .order_by("subject__family_name", "pk")
    )
    audit.record_access(watchlist, actor, reason, data={"entries": [entry.pk for entry in entries]})
    return entries


@transaction.atomic
def entry(actor, entry: Entry, reason: str) -> Entry:
    """One entry: who, on which list, and why; logged with the list and the person."""
    return access.consulted(
        actor, "watchlists.view_entry", entry, reason, {"watchlist": entry.watchlist_id, "subject": entry.subject_id}
    )


@transaction.atomic
def review(actor, review: Review, reason: str) -> Review:
    """A version as it was submitted for a decision (it names everyone on the list); logged on the list, with the
    review and its version."""
    policy.require(actor, "watchlists.view_review", review)
    audit.record_access(review.watchlist, actor, reason, data={"review": review.pk, "version": review.version})
    return review


def restricted_subject_ids() -> set[int]:
    """The subjects under a standing restriction of processing (DPA 2018 s.47): enrolment and matching leave their
    templates out. Ids only, nothing about the person, so it is not a consultation and is not logged."""
    return set(SubjectRestriction.objects.filter(lifted_at__isnull=True).values_list("subject_id", flat=True))
