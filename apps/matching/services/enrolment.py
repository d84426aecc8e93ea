"""Enrolment: an approved watchlist version's images become templates, behind the face quality gate; a purge
takes them away, with deletion evidence (an exact search, then a VACUUM: deletion_evidence), and moves the list's
template generation so every worker holding them drops them at its next frame."""

import io
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from PIL import Image

from apps.audit import services as audit
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Watchlist
from apps.watchlists.services import watchlists
from govern import encryption, prepared

from ..choices import Biometric
from ..engine import get_engine
from ..list_index import HeldLists, ListIndex, halfvec
from ..models import TemplateGeneration, WatchlistTemplate
from .deletion_evidence import record_deletion_evidence


@dataclass(frozen=True)
class EnrolResult:
    """What enrolment did."""

    enrolled: int
    problems: list[str]


def quality_problem(faces) -> str | None:
    """The quality gate for an enrolment image: exactly one face, confident and large enough."""
    if len(faces) != 1:
        return f"{len(faces)} faces found, exactly one needed"
    face = faces[0]
    if face.probability < settings.FACE_MIN_PROBABILITY:
        return f"face detected with probability {face.probability:.2f}, below {settings.FACE_MIN_PROBABILITY}"
    if face.size < settings.FACE_MIN_SIZE:
        return f"face {face.size:.0f} px across, below {settings.FACE_MIN_SIZE} px"
    return None


def enrol_watchlist(watchlist_id: int, approved_hash: str) -> EnrolResult:
    """Embed every entry image of an approved version; any failure sends the list back to the compiler.

    Delivered twice (the outbox and Celery deliver at least once), it enrols once: a version this engine enrolled
    already is left alone, and the write holds the list's row, so two deliveries at once cannot both write, and a
    purge that committed while the images were being embedded is not undone.
    """
    watchlist = Watchlist.objects.get(pk=watchlist_id)
    if watchlist.state != WatchlistState.APPROVED or watchlist.approved_hash != approved_hash:
        return EnrolResult(0, ["the version is no longer the approved one"])
    engine = get_engine()
    enrolled = _enrolled(watchlist, approved_hash, engine)
    if enrolled:
        return EnrolResult(enrolled, [])
    faces, rows, problems = [], [], []
    for entry in watchlist.entries.select_related("image", "subject").order_by("pk"):
        content = encryption.decrypt(bytes(entry.image.ciphertext), associated_data=entry.image.associated_data())
        found = engine.detect(Image.open(io.BytesIO(content)))
        problem = quality_problem(found)
        if problem:
            problems.append(f"{entry.subject}: {problem}.")
            continue
        faces.append(found[0])
        rows.append(entry)
    if problems:
        with transaction.atomic():
            if watchlists.return_after_quality_gate(watchlist, approved_hash, problems):
                audit.record(
                    "templates.enrol_failed",
                    watchlist,
                    None,
                    data={"problems": len(problems), "approved_hash": approved_hash},
                )
        return EnrolResult(0, problems)
    vectors = engine.embed(faces)
    with transaction.atomic():
        watchlist = Watchlist.objects.select_for_update().get(pk=watchlist_id)
        if watchlist.state != WatchlistState.APPROVED or watchlist.approved_hash != approved_hash:
            return EnrolResult(0, ["the version is no longer the approved one"])
        enrolled = _enrolled(watchlist, approved_hash, engine)
        if enrolled:
            return EnrolResult(enrolled, [])
        replaced, _ = WatchlistTemplate.objects.filter(watchlist=watchlist, approved_hash=approved_hash).delete()
        if replaced:
            templates_changed(watchlist.pk)
        WatchlistTemplate.objects.bulk_create(
            [
                WatchlistTemplate(
                    watchlist=watchlist,
                    approved_hash=approved_hash,
                    entry=entry,
                    subject=entry.subject,
                    embedding=vector,
                    engine=engine.name,
                    weights_sha256=engine.weights_sha256,
                )
                for entry, vector in zip(rows, vectors, strict=True)
            ]
        )
        audit.record(
            "templates.enrolled",
            watchlist,
            None,
            data={
                "approved_hash": approved_hash,
                "templates": len(rows),
                "engine": engine.name,
                "weights_sha256": engine.weights_sha256,
            },
        )
    templates.cache_clear()
    return EnrolResult(len(rows), [])


def _enrolled(watchlist: Watchlist, approved_hash: str, engine) -> int:
    """How many templates this engine made for the version, if it made one for every entry (else 0)."""
    entries = watchlist.entries.count()
    templates = WatchlistTemplate.objects.filter(
        watchlist=watchlist, approved_hash=approved_hash, engine=engine.name, weights_sha256=engine.weights_sha256
    ).count()
    return templates if entries and templates == entries else 0


_HELD = HeldLists(size=16)


def templates(watchlist_id: int, approved_hash: str) -> ListIndex:
    """An approved version's templates made by the engine in use, in this process's memory, for an exact search
    (pgvector is the record). Another engine's templates of the version are never read: its vectors mean nothing to
    this engine's, even where they have the same size."""
    engine = get_engine()
    key = (watchlist_id, approved_hash, engine.name, engine.weights_sha256, engine.dimensions)
    return _HELD.get(key, lambda: (generation(watchlist_id), _engine_templates(*key)))


def held_watchlists() -> list[int]:
    """The watchlists whose templates this process holds (a frame's admission reads their generations)."""
    return _HELD.watchlists()


def drop_stale(generations: dict[int, int]) -> list[int]:
    """Drop the templates of every held list whose generation moved (some of its templates were deleted)."""
    return _HELD.drop_stale(generations)


templates.cache_clear = _HELD.clear  # the tests call it after changing templates behind the services' back


def generation(watchlist_id: int) -> int:
    """How many times the list's templates have lost some (0 when never)."""
    found = TemplateGeneration.objects.filter(watchlist_id=watchlist_id).values_list("generation", flat=True).first()
    return found or 0


def templates_changed(watchlist_id: int) -> None:
    """Some of a list's templates were deleted: move its generation, in the deleting transaction, so every worker
    holding the list drops it before its next match (custody deletion calls this for a person's templates too)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO matching_templategeneration (watchlist_id, generation) VALUES (%s, 1) "
            "ON CONFLICT (watchlist_id) DO UPDATE SET generation = matching_templategeneration.generation + 1",
            [watchlist_id],
        )


def _engine_templates(watchlist_id: int, approved_hash: str, name: str, weights: str, dimensions: int) -> ListIndex:
    """Read in PostgreSQL's binary format, the float16 values as stored: at 20k templates 0.26 s against the ORM's
    text path's 4.6 s, with identical values (docs/benchmarks.md); a worker pays it on its first frame of a list."""
    # Django's cursors bind on the client, which cannot ask for binary results: a server-binding cursor can.
    with prepared.cursor() as cursor:
        cursor.execute(
            "SELECT embedding, entry_id, subject_id FROM matching_watchlisttemplate "
            "WHERE watchlist_id = %s AND approved_hash = %s AND engine = %s AND weights_sha256 = %s ORDER BY id",
            [watchlist_id, approved_hash, name, weights],
            binary=True,
        )
        rows = cursor.fetchall()
    halves = np.stack([halfvec(row[0]) for row in rows]) if rows else np.zeros((0, dimensions), dtype=np.float16)
    return ListIndex(halves, [(row[1], row[2]) for row in rows])


def purge_templates(watchlist_id: int) -> int:
    """Delete every template of a watchlist inside the purging transaction, with deletion evidence and a receipt, and
    move the list's generation so no worker matches against them again."""
    doomed = list(WatchlistTemplate.objects.filter(watchlist_id=watchlist_id).values_list("pk", flat=True))
    deleted, _ = WatchlistTemplate.objects.filter(pk__in=doomed).delete()
    if doomed:
        record_deletion_evidence(Biometric.WATCHLIST_TEMPLATE, doomed, target=("watchlists.watchlist", watchlist_id))
    templates_changed(watchlist_id)
    audit.record(
        "templates.purged",
        ("watchlists.watchlist", watchlist_id),
        None,
        data={"templates_deleted": deleted, "absence_confirmed_by_exact_search": True},
    )
    templates.cache_clear()
    return deleted
