"""Retrospective search: stills searched against custody images, for a trained operator and then an investigator.

A probe is searched, never enrolled: its vector lives only in memory while the custody templates are queried, and the
still itself (encrypted under the search's own data key) is deleted with a receipt when the case closes, and the key
destroyed, so no copy of it (write-ahead log, base backup, replica) can be read after (docs/security.md). The result is
a ranked candidate list, not an identification: an operator chooses (or finds no match) and a different, investigating
officer confirms with a corroboration note before anything is actionable. Retail partners see the status only.
"""

import datetime
import io
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image

from apps.accounts.models import User
from apps.audit import data_keys
from apps.audit import services as audit
from apps.audit.choices import DataKeyOwner
from apps.outbox import services as outbox
from apps.watchlists.models import CustodyImage, Subject
from apps.watchlists.selectors import restricted_subject_ids
from govern import encryption, policy, records, uploads
from govern.errors import Conflict, TooLarge, TooMany
from govern.roles import Role

from ..choices import Biometric, ProbeState, SearchState
from ..engine import get_engine
from ..models import CustodyTemplate, Probe, SearchRequest
from . import custody_index
from .deletion_evidence import record_deletion_evidence
from .engine_approval import engine_refusal
from .enrolment import quality_problem

MAX_STILLS = 500
CANDIDATES = 10
EF_SEARCH = 100
# The projection's graph is walked keeping the best REDUCED_WIDTH, whose nearest RERANKED are re-ranked exactly:
# recall@10 0.989 at a million templates, 48-55x faster than exact search (docs/benchmarks.md, Matching: the custody
# graph in the searching process's memory).
REDUCED_WIDTH = 700
RERANKED = 200


def enrol_custody_image(image_id: int) -> bool:
    """Embed one custody image for retrospective search (exactly one good face), replacing any earlier template.

    Delivered twice, it enrols once: an image this engine enrolled already is left alone, and the write holds the
    image's row, so two deliveries at once cannot both write.
    """
    image = CustodyImage.objects.filter(pk=image_id).select_related("subject").first()
    if image is None:
        return False
    engine = get_engine()
    if _enrolled_by(image_id, engine):
        return True
    content = encryption.decrypt(bytes(image.ciphertext), associated_data=image.associated_data())
    faces = engine.detect(Image.open(io.BytesIO(content)))
    problem = quality_problem(faces)
    with transaction.atomic():
        # FOR NO KEY UPDATE: it keeps a second delivery and the image's deletion waiting, but not a new entry's foreign
        # key (FOR KEY SHARE), whose edit may already hold the audit log's head this transaction waits for below.
        held = CustodyImage.objects.select_for_update(no_key=True).filter(pk=image_id)
        if held.values_list("pk", flat=True).first() is None:
            return False  # deleted while it was being embedded
        if _enrolled_by(image_id, engine):
            return True
        CustodyTemplate.objects.filter(image=image).delete()
        if problem:
            audit.record("custody_template.refused", image, None, data={"problem": problem})
            return False
        vector = engine.embed(faces)[0]
        template = CustodyTemplate.objects.create(
            image=image,
            subject=image.subject,
            embedding=vector.tolist(),
            engine=engine.name,
            weights_sha256=engine.weights_sha256,
        )
        custody_index.add(template, vector)
        audit.record(
            "custody_template.enrolled",
            image,
            None,
            data={"engine": engine.name, "weights_sha256": engine.weights_sha256},
        )
    return True


def _enrolled_by(image_id: int, engine) -> bool:
    return CustodyTemplate.objects.filter(
        image_id=image_id, engine=engine.name, weights_sha256=engine.weights_sha256
    ).exists()


@transaction.atomic
def submit(actor, stills: list[bytes], *, incident_reference: str, crime_type: str, sharing_agreement: str = ""):
    """Accept a search with its stills (validated, encrypted); the search itself runs after commit, on Celery."""
    policy.require(actor, "matching.add_searchrequest")
    partner = actor.has_role(Role.RETAIL_PARTNER) and not actor.has_role(Role.OFFICER)
    most = settings.RFR_PARTNER_MAX_STILLS if partner else MAX_STILLS
    if not stills:
        raise ValidationError({"stills": f"Send 1 to {most} stills."})
    if len(stills) > most:
        raise TooLarge(f"{len(stills)} stills in one request: send at most {most}.")
    if not incident_reference.strip() or not crime_type.strip():
        raise ValidationError("Give the incident reference and the crime type.")
    if partner:
        if not sharing_agreement.strip():
            raise ValidationError({"sharing_agreement": "A retail partner names its data-sharing agreement."})
        _partner_allowance(actor)
    checked, pixels = [], 0
    for number, still in enumerate(stills, start=1):
        try:
            image = uploads.validate_image(still, max_pixels=settings.RFR_STILL_MAX_PIXELS)
        except uploads.ImageRejected as exc:
            raise ValidationError({"stills": f"Still {number}: {exc}"}) from exc
        pixels += image.width * image.height
        if partner and pixels > settings.RFR_PARTNER_MAX_PIXELS:
            raise TooLarge(
                f"The stills hold more than {settings.RFR_PARTNER_MAX_PIXELS:,} pixels in all (reached at still "
                f"{number}): send fewer or smaller stills a request."
            )
        checked.append(image)
    request = SearchRequest.objects.create(
        reference=records.next_reference(SearchRequest, "RFR", timezone.now(), digits=5),
        submitted_by=actor,
        incident_reference=incident_reference.strip(),
        crime_type=crime_type.strip(),
        sharing_agreement=sharing_agreement.strip(),
        total=len(checked),
    )
    # The search's stills under a data key of its own: closing the search (or retention) destroys it (stills_key).
    key = data_keys.new_key_for(DataKeyOwner.SEARCH_STILLS, request.pk)
    for position, still in enumerate(checked, start=1):
        probe = Probe(request=request, position=position, sha256=still.sha256)
        probe.ciphertext = key.seal(still.content, associated_data=probe.associated_data())
        probe.save()
    audit.record(
        "search.submitted",
        request,
        actor,
        data={
            "stills": len(checked),
            "incident_reference": request.incident_reference,
            "crime_type": request.crime_type,
            "sharing_agreement": request.sharing_agreement,
        },
    )
    outbox.enqueue("apps.matching.tasks.run_search", request.pk)
    return request


@dataclass(frozen=True)
class Allowance:
    """What a retail partner has used of its searches in the last 24 hours and at once, and what that leaves."""

    today: int
    per_day: int
    running: int
    at_once: int
    next_at: datetime.datetime | None  # when the oldest search of the last 24 hours stops counting

    @property
    def refusal(self) -> str:
        """Why a new search would be refused now, in the partner's words; blank while one may be sent."""
        if self.today >= self.per_day:
            when = timezone.localtime(self.next_at).strftime("%H:%M on %-d %b")
            return (
                f"{self.per_day} {_searches(self.per_day)} in the last 24 hours is this partner's limit: "
                f"the next may be sent from {when}, or ask the force."
            )
        if self.running >= self.at_once:
            if self.at_once == 1:
                return "This partner's search is still running: wait for it to finish."
            return f"{self.at_once} of this partner's searches are still running: wait for one to finish."
        return ""

    @property
    def retry_after_seconds(self) -> int:
        if self.today >= self.per_day:
            return max(1, int((self.next_at - timezone.now()).total_seconds()) + 1)
        return TooMany.retry_after_seconds


def _searches(count: int) -> str:
    return "search" if count == 1 else "searches"


def partner_allowance(actor) -> Allowance | None:
    """A retail partner's searches in the last 24 hours and waiting or running, against its limits; None for the
    police, who have none."""
    if not (actor.has_role(Role.RETAIL_PARTNER) and not actor.has_role(Role.OFFICER)):
        return None
    mine = SearchRequest.objects.filter(submitted_by=actor)
    window = mine.filter(submitted_at__gte=timezone.now() - datetime.timedelta(days=1)).order_by("submitted_at")
    per_day = settings.RFR_PARTNER_SEARCHES_PER_DAY
    today = window.count()
    # The search that frees a place is the one `today - per_day` from the oldest: the allowance may have been lowered.
    freeing = window.values_list("submitted_at", flat=True)[today - per_day] if today >= per_day else None
    return Allowance(
        today=today,
        per_day=per_day,
        running=mine.filter(state__in=[SearchState.QUEUED, SearchState.RUNNING]).count(),
        at_once=settings.RFR_PARTNER_SEARCHES_AT_ONCE,
        next_at=freeing + datetime.timedelta(days=1) if freeing else None,
    )


def _partner_allowance(actor) -> None:
    """A retail partner's searches a day, and at once: beyond them, 429. Read under a lock on the partner's row, so
    two requests at once cannot both take the last one."""
    User.objects.select_for_update().filter(pk=actor.pk).first()
    allowance = partner_allowance(actor)
    if allowance.refusal:
        refused = TooMany(allowance.refusal)
        refused.retry_after_seconds = allowance.retry_after_seconds
        raise refused


def _for_detection(content: bytes) -> Image.Image:
    """The still, decoded at most RFR_DETECT_MAX_SIDE on its longer side (JPEGs decode at the smaller size)."""
    image = Image.open(io.BytesIO(content))
    side = settings.RFR_DETECT_MAX_SIDE
    image.draft("RGB", (side, side))
    image = image.convert("RGB")
    image.thumbnail((side, side))
    return image


def _candidates(vector: np.ndarray, search: custody_index.Search | None, engine) -> list[dict]:
    """The nearest custody templates of the engine in use by exact cosine, best first: among the nearest RERANKED by
    the gallery's projection where one is in force for this engine (`search`, from custody_index.searcher), else by
    HNSW on the full vectors (the index for the engine's vector size; other engines' templates are never compared)."""
    # A person whose processing is restricted (DPA 2018 s.47(2)) is never a candidate while the restriction stands;
    # the index walk skips them, so the candidates are still the nearest of everyone else.
    restricted = sorted(restricted_subject_ids())
    with transaction.atomic(), connection.cursor() as cursor:
        if search is not None:
            rows = search.candidates(cursor, vector, CANDIDATES, RERANKED, REDUCED_WIDTH)
        else:
            literal = custody_index.literal(vector)
            size = int(engine.dimensions)  # an int: the cast names the index of that size
            cursor.execute("SET LOCAL hnsw.ef_search = %s", [EF_SEARCH])
            # Keep walking past entries the search cannot see (deleted templates, until VACUUM, and other engines'
            # templates of the same size), so that they do not crowd this engine's out of the first EF_SEARCH.
            cursor.execute("SET LOCAL hnsw.iterative_scan = strict_order")
            cursor.execute(
                f"SELECT image_id, subject_id, 1 - (embedding::halfvec({size}) <=> %s::halfvec({size})) "  # noqa: S608
                "FROM matching_custodytemplate WHERE dimensions = %s AND engine = %s AND weights_sha256 = %s "
                "AND NOT subject_id = ANY(%s) "
                f"ORDER BY embedding::halfvec({size}) <=> %s::halfvec({size}) LIMIT %s",
                [literal, size, engine.name, engine.weights_sha256, restricted, literal, CANDIDATES],
            )
            rows = cursor.fetchall()
    return [
        {"image": image, "subject": subject, "score": round(float(score), 6)}
        for image, subject, score in rows
        if subject not in restricted  # the graph's candidates, which it walked without knowing
    ]


def _refuse_probe(probe: Probe, refusal: str, data: dict) -> None:
    probe.state, probe.refusal = ProbeState.REFUSED, refusal
    probe.save()
    audit.record("search.probe_refused", probe, None, data=data, reason=refusal)


def run_search(request_id: int) -> SearchRequest:
    """Search every pending still; each is committed on its own, so the page shows progress."""
    request = SearchRequest.objects.get(pk=request_id)
    if request.state == SearchState.CLOSED:
        return request
    SearchRequest.objects.filter(pk=request_id, state=SearchState.QUEUED).update(state=SearchState.RUNNING)
    engine = get_engine()
    # As live capture does at each frame: no search on an engine two people have not approved (nor an uncalibrated
    # one where that is not allowed). Each still is refused with the reason, so the request still finishes.
    refusal = engine_refusal()
    search = None if refusal else custody_index.searcher()  # the gallery now: enrolled since the last request, or not
    for probe in Probe.objects.filter(request=request, state=ProbeState.PENDING).order_by("position"):
        faces = []
        if not refusal:
            try:
                content = encryption.decrypt(bytes(probe.ciphertext), associated_data=probe.associated_data())
            except encryption.DataKeyDestroyed:
                continue  # the search was closed meanwhile: its stills' key is destroyed and there is nothing to do
            faces = engine.detect(_for_detection(content))
        with transaction.atomic():
            locked = Probe.objects.select_for_update().get(pk=probe.pk)
            if locked.state != ProbeState.PENDING:
                continue  # a redelivered task: already done
            if refusal:
                _refuse_probe(locked, refusal, {"engine": engine.name, "weights_sha256": engine.weights_sha256})
            elif len(faces) != 1:
                _refuse_probe(
                    locked,
                    "No face was found in the still."
                    if not faces
                    else f"{len(faces)} faces were found: crop the still to the one person sought.",
                    {"faces": len(faces)},
                )
            else:
                vector = engine.embed(faces)[0]
                locked.candidates = _candidates(vector, search, engine)
                del vector  # the probe is searched, never enrolled
                locked.state, locked.engine, locked.weights_sha256 = (
                    ProbeState.SEARCHED,
                    engine.name,
                    engine.weights_sha256,
                )
                locked.save()
                audit.record(
                    "search.probe_searched",
                    locked,
                    None,
                    data={"candidates": len(locked.candidates), "engine": engine.name},
                )
            SearchRequest.objects.filter(pk=request_id).update(processed=F("processed") + 1)
    SearchRequest.objects.filter(pk=request_id, state=SearchState.RUNNING).update(state=SearchState.READY)
    return SearchRequest.objects.get(pk=request_id)


# Candidates stored before a restriction was recorded are not acted on while it stands.
_RESTRICTED = (
    "This candidate's processing is restricted on a data-subject request (DPA 2018 s.47(2)): they cannot be chosen "
    "or confirmed while the restriction stands."
)


@transaction.atomic
def choose(actor, probe: Probe, *, subject_id: int | None, note: str) -> Probe:
    """The trained operator's review: one candidate, or no match; with a note."""
    locked = Probe.objects.select_for_update().get(pk=probe.pk)
    policy.require(actor, "matching.review_probe", locked)
    if locked.state != ProbeState.SEARCHED:
        raise Conflict(f"Probe {locked.pk} is {locked.get_state_display().lower()}, not awaiting review.")
    if len(note.strip()) < 5:
        raise ValidationError({"note": "Note what the choice rests on."})
    if subject_id is not None and subject_id not in {c["subject"] for c in locked.candidates}:
        raise ValidationError({"subject": "Choose one of the candidates, or no match."})
    if subject_id is not None and subject_id in restricted_subject_ids():
        raise Conflict(_RESTRICTED)
    # An erasure strikes the erased from candidate lists; a list older than that may still name them.
    if subject_id is not None and not Subject.objects.filter(pk=subject_id).exists():
        raise Conflict(f"Subject {subject_id} has been erased: choose another candidate, or no match.")
    locked.chosen_subject_id, locked.operator, locked.operator_note = subject_id, actor, note.strip()
    locked.state = ProbeState.SELECTED if subject_id is not None else ProbeState.NO_MATCH
    locked.save()
    audit.record("search.operator_choice", locked, actor, data={"subject": subject_id}, reason=note)
    return locked


@transaction.atomic
def confirm(actor, probe: Probe, *, corroboration: str) -> Probe:
    """The investigating officer (not the operator) confirms, with the corroboration, before any action."""
    locked = Probe.objects.select_for_update().get(pk=probe.pk)
    policy.require(actor, "matching.confirm_probe", locked)
    if locked.state != ProbeState.SELECTED:
        raise Conflict("Only an operator's chosen candidate can be confirmed.")
    if len(corroboration.strip()) < 20:
        raise ValidationError({"corroboration": "Record the corroboration (at least 20 characters)."})
    if locked.chosen_subject_id in restricted_subject_ids():
        raise Conflict(_RESTRICTED)
    locked.state, locked.confirmed_by, locked.corroboration = ProbeState.CONFIRMED, actor, corroboration.strip()
    locked.save()
    audit.record("search.confirmed", locked, actor, data={"subject": locked.chosen_subject_id}, reason=corroboration)
    return locked


@transaction.atomic
def close(actor, request: SearchRequest, *, reason: str) -> SearchRequest:
    """Close the case: every probe's still is deleted, each with a receipt in the log, and the probe shows as deleted
    (what the operator chose and the officer confirmed stays on it, as the record of the identification)."""
    locked = SearchRequest.objects.select_for_update().get(pk=request.pk)
    policy.require(actor, "matching.close_searchrequest", locked)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the search is closed: the reason is logged with the deletions."})
    if locked.state == SearchState.CLOSED:
        raise Conflict(f"{locked.reference} is already closed.")
    deleted = []
    destroyed_key = destroy_stills_key(locked)
    for probe in Probe.objects.select_for_update().filter(request=locked).exclude(ciphertext=None):
        commitment = audit.commitment(probe.sha256)
        Probe.objects.filter(pk=probe.pk).update(ciphertext=None, state=ProbeState.DELETED)
        audit.record(
            "probe.deleted",
            probe,
            actor,
            data={
                "request": locked.reference,
                "commitment": commitment,
                "from_state": probe.state,
                "data_key": destroyed_key,
            },
        )
        deleted.append(probe.pk)
    if deleted:
        record_deletion_evidence(
            Biometric.SEARCH_STILL, deleted, target=locked, actor=actor, data_keys_destroyed=[destroyed_key]
        )
    locked.state, locked.closed_at = SearchState.CLOSED, timezone.now()
    locked.save()
    audit.record("search.closed", locked, actor, data={"data_key": destroyed_key}, reason=reason.strip())
    return locked


def destroy_stills_key(request: SearchRequest) -> str | None:
    """Crypto-shred the search's stills, in the caller's transaction: its data key destroyed (the file shredded on
    commit), so no copy of a still (write-ahead log, base backup, replica) can be read. The key's id, for the
    receipts; None for stills stored before data keys were, or a key already destroyed."""
    return data_keys.destroy_for(DataKeyOwner.SEARCH_STILLS, request.pk)


def forget_candidates(request_id: int, *, hours: int, now=None) -> int:
    """Retention after closure: the candidate lists of a closed search go, each probe with a receipt.

    The stills went when the search closed; what the operator chose and the officer confirmed stays as the
    record of the identification. Returns how many probes' candidates were deleted (0 on a second run).
    """
    now = now or timezone.now()
    done = 0
    with transaction.atomic():
        locked = SearchRequest.objects.select_for_update().get(pk=request_id)
        if locked.state != SearchState.CLOSED or locked.closed_at is None:
            return 0
        if locked.closed_at > now - datetime.timedelta(hours=hours):
            return 0
        for probe in Probe.objects.select_for_update().filter(request=locked).exclude(candidates=[]):
            commitment = audit.commitment(probe.candidates)
            Probe.objects.filter(pk=probe.pk).update(candidates=[])
            audit.record(
                "probe.candidates_deleted",
                probe,
                None,
                data={"request": locked.reference, "commitment": commitment, "retention_hours": hours},
            )
            done += 1
    return done


def searches_left_open(cutoff):
    """Searches submitted at or before the cutoff and never closed: their stills and candidates are still held."""
    return SearchRequest.objects.exclude(state=SearchState.CLOSED).filter(submitted_at__lte=cutoff)


@transaction.atomic
def close_abandoned(request_id: int, *, cutoff, retention_hours: int, now=None) -> str | None:
    """Retention for a search nobody closed: its stills and candidate lists go, each probe with a receipt, and the
    search is closed by the system; its reference, or None when it is not (or no longer) due."""
    locked = searches_left_open(cutoff).select_for_update().filter(pk=request_id).first()
    if locked is None:
        return None
    deleted = []
    destroyed_key = destroy_stills_key(locked)
    for probe in Probe.objects.select_for_update().filter(request=locked):
        data = {"request": locked.reference, "commitment": audit.commitment([probe.sha256, probe.candidates])}
        Probe.objects.filter(pk=probe.pk).update(ciphertext=None, candidates=[], state=ProbeState.DELETED)
        audit.record(
            "probe.deleted",
            probe,
            None,
            data={**data, "from_state": probe.state, "retention_hours": retention_hours, "data_key": destroyed_key},
        )
        deleted.append(probe.pk)
    if deleted:  # as close() does: the reconciliation counts every deleted still against this evidence
        record_deletion_evidence(Biometric.SEARCH_STILL, deleted, target=locked, data_keys_destroyed=[destroyed_key])
    locked.state, locked.closed_at = SearchState.CLOSED, now or timezone.now()
    locked.save(update_fields=["state", "closed_at"])
    audit.record(
        "search.closed",
        locked,
        None,
        data={"data_key": destroyed_key},
        reason=f"Never closed: closed under retention after {retention_hours} h.",
    )
    return locked.reference
