"""Enrolment: an approved watchlist version's images become templates, behind the face quality gate; a purge
takes them away, confirmed by an exact search, and the table is vacuumed so the vectors leave the pages."""

import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from PIL import Image

from apps.audit import services as audit
from apps.outbox import services as outbox
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Watchlist
from apps.watchlists.services import watchlists
from govern import encryption, prepared

from ..engine import get_engine
from ..list_index import ListIndex, halfvec
from ..models import WatchlistTemplate


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
        WatchlistTemplate.objects.filter(watchlist=watchlist, approved_hash=approved_hash).delete()
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


_HELD: set[int] = set()  # the watchlists whose templates this process may hold (the cache cannot list its keys)


def templates(watchlist_id: int, approved_hash: str) -> ListIndex:
    """An approved version's templates made by the engine in use, in this process's memory, for an exact search
    (pgvector is the record). Another engine's templates of the version are never read: its vectors mean nothing to
    this engine's, even where they have the same size."""
    engine = get_engine()
    _HELD.add(watchlist_id)
    return _engine_templates(watchlist_id, approved_hash, engine.name, engine.weights_sha256, engine.dimensions)


@lru_cache(maxsize=16)
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


def _clear() -> None:
    _engine_templates.cache_clear()
    _HELD.clear()


templates.cache_clear = _clear  # enrolment and purge call it on `templates`, as do the tests


def held_watchlists() -> list[int]:
    """The watchlists whose templates this process holds in memory."""
    return sorted(_HELD)


def forget(watchlist_ids) -> list[int]:
    """Drop these lists' templates from this process's memory (a deployment stopped in an emergency); returns those
    that were held. The cache drops only all at once, so it is cleared only when one of them is held: a camera that
    keeps sending for a stopped deployment costs the other lists one re-read, not one a frame."""
    held = sorted(_HELD.intersection(watchlist_ids))
    if held:
        templates.cache_clear()
    return held


def purge_templates(watchlist_id: int) -> int:
    """Delete every template of a watchlist inside the purging transaction, confirm none is left, log a receipt."""
    deleted, _ = WatchlistTemplate.objects.filter(watchlist_id=watchlist_id).delete()
    with connection.cursor() as cursor:
        # An exact search (a sequential scan, no index) for any vector of this list.
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SELECT count(*) FROM matching_watchlisttemplate WHERE watchlist_id = %s", [watchlist_id])
        left = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_indexscan = on")
        cursor.execute("SET LOCAL enable_bitmapscan = on")
    if left:
        raise RuntimeError(f"{left} templates of watchlist {watchlist_id} survived their deletion.")
    audit.record(
        "templates.purged",
        ("watchlists.watchlist", watchlist_id),
        None,
        data={"templates_deleted": deleted, "absence_confirmed_by_exact_search": True},
    )
    outbox.enqueue("apps.matching.tasks.vacuum_templates", watchlist_id)
    templates.cache_clear()
    return deleted


def vacuum_table(watchlist_id: int | None = None) -> None:
    """VACUUM the template table so deleted vectors leave the pages (outside any transaction), and log it."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM matching_watchlisttemplate")
    if watchlist_id is not None:
        with transaction.atomic():
            audit.record("templates.vacuumed", ("watchlists.watchlist", watchlist_id), None)
