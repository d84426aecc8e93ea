"""Enrolment: an approved watchlist version's images become templates, behind the face quality gate; a purge
takes them away, with deletion evidence (an exact search, then a VACUUM: deletion_evidence), and moves the list's
template generation so every worker holding them drops them at its next frame."""

import io
from dataclasses import asdict, dataclass

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from PIL import Image

from apps.audit import services as audit
from apps.deployments import services as deployments
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Watchlist
from apps.watchlists.services import watchlists
from govern import encryption, policy, prepared
from govern.errors import Conflict

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


def enrol_watchlist(watchlist_id: int, approved_hash: str, *, return_on_failure: bool = True) -> EnrolResult:
    """Embed every entry image of an approved version; any failure sends the list back to the compiler (unless
    `return_on_failure` is off: a re-enrolment on another engine leaves an approved list approved).

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
    if problems and not return_on_failure:
        return EnrolResult(0, problems)
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
        # Only this engine's partial set goes: another engine's templates of the version stay, so switching back to
        # it needs no re-enrolment.
        replaced, _ = WatchlistTemplate.objects.filter(
            watchlist=watchlist, approved_hash=approved_hash, engine=engine.name, weights_sha256=engine.weights_sha256
        ).delete()
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


@dataclass(frozen=True)
class Enrolment:
    """The templates one engine made of a version: whether they cover every entry, and whether it is the one in use."""

    engine: str
    weights_sha256: str
    templates: int
    complete: bool
    in_use: bool


def enrolments(watchlist: Watchlist, approved_hash: str) -> list[Enrolment]:
    """Every engine a version is enrolled on (the engine in use first), read from the templates' rows."""
    if not approved_hash:
        return []
    engine = get_engine()
    entries = watchlist.entries.count()
    counted = (
        WatchlistTemplate.objects.filter(watchlist=watchlist, approved_hash=approved_hash)
        .values_list("engine", "weights_sha256")
        .annotate(templates=models.Count("pk"))
    )
    found = [
        Enrolment(name, weights, count, count == entries, (name, weights) == (engine.name, engine.weights_sha256))
        for name, weights, count in counted
    ]
    return sorted(found, key=lambda enrolment: (not enrolment.in_use, enrolment.engine, enrolment.weights_sha256))


def standing(watchlist: Watchlist, approved_hash: str) -> dict:
    """A version's enrolments beside the engine in use, as the list's and the deployment's pages and the API show it
    (registered with watchlists.enrolments)."""
    engine = get_engine()
    return {
        "engine_in_use": engine.name,
        "weights_in_use": engine.weights_sha256,
        "on_engine_in_use": bool(_enrolled(watchlist, approved_hash, engine)),
        "engines": [asdict(enrolment) for enrolment in enrolments(watchlist, approved_hash)],
    }


def enrolment_refusal(watchlist: Watchlist | None, approved_hash: str) -> str | None:
    """Why a version cannot be matched by the engine in use (its templates were made by another engine, or not yet),
    or None. A version enrolled only on another engine would meet no face: every one would be a receipt."""
    if watchlist is None or not approved_hash:
        return None  # the gate's watchlist conditions say so
    engine = get_engine()
    if _enrolled(watchlist, approved_hash, engine):
        return None
    others = sorted({e.engine for e in enrolments(watchlist, approved_hash) if e.complete and not e.in_use})
    where = f"enrolled only on {', '.join(others)}" if others else "without a complete set of templates"
    return (
        f"{watchlist.reference} version {watchlist.approved_version} is {where}, not on the engine in use "
        f"{engine.name} (weights {engine.weights_sha256[:12]}…): no face could match it. "
        "Re-enrol it on the engine in use (the watchlist's page, or manage.py reenrol_watchlist)."
    )


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


def forget(watchlist_ids) -> list[int]:
    """Drop these lists' templates from this process's memory (a deployment stopped in an emergency); returns those
    that were held."""
    return _HELD.drop(watchlist_ids)


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


def reenrol(actor, watchlist: Watchlist, *, reason: str) -> EnrolResult:
    """Enrol the approved version in force on the engine in use, from its entries' stored images (kept, encrypted,
    until the list is purged), after the engine was changed. The version stays approved: a quality-gate failure on
    the new engine is reported and logged, and leaves the list as it was (it is still usable on its old engine)."""
    policy.require(actor, "matching.reenrol_watchlist", watchlist)
    if len(reason.strip()) < 10:
        raise ValidationError({"reason": "Say why the list is re-enrolled (e.g. the engine changed)."})
    if not watchlists.in_force(watchlist):
        raise Conflict(f"{watchlist.reference} is not approved and in force: there is no version to re-enrol.")
    engine = get_engine()
    result = enrol_watchlist(watchlist.pk, watchlist.approved_hash, return_on_failure=False)
    data = {
        "approved_hash": watchlist.approved_hash,
        "engine": engine.name,
        "weights_sha256": engine.weights_sha256,
        "templates": result.enrolled,
        "problems": len(result.problems),
    }
    with transaction.atomic():
        audit.record("templates.reenrolled" if result.enrolled else "templates.reenrol_failed", watchlist, actor,
                     data=data, reason=reason.strip())  # fmt: skip
    if not result.enrolled:
        raise ValidationError({"reenrol": result.problems or ["Nothing was enrolled."]})
    return result


def enrolment_condition(deployment, now) -> deployments.Condition:
    """The go-live gate's enrolment condition: the authorised version has templates made by the engine in use."""
    refusal = enrolment_refusal(deployment.watchlist, deployment.authorised_watchlist_hash)
    good = f"The authorised list is enrolled on the engine in use, {get_engine().name}."
    return deployments.Condition("enrolment", refusal is None, good if refusal is None else refusal)
