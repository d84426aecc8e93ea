"""Capture agents (issue 25): the session an agent matches with, the status it polls, and the batches of tracks it
sends, one decision per person passing (docs/architecture.md, capture agents).

An agent is admitted as a frame is (live_capture.admission: one code path for the rules). Its batch is recorded whole
or not at all, once: the batch id is the agent's idempotency key (AgentBatch's primary key), so a batch sent again
after a dropped link is answered from the record. Every alert the agent claims is re-scored by Govern's own engine
against the entry's template before anything is written, so an agent cannot invent one. Tracks seen while the
deployment was live are accepted after it stopped or ended; a track seen outside its live periods refuses the batch.
"""

import base64
import binascii
import datetime
import hashlib
import io
import json
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from PIL import Image

from apps.audit import data_keys
from apps.audit import services as audit
from apps.deployments import services as deployments
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Asset, Deployment
from apps.watchlists.selectors import restricted_subject_ids
from govern import prepared, uploads

from ..choices import AlertState
from ..engine import get_engine
from ..models import AgentBatch, AgentTrack, Alert, AlertSighting, Capture, DeletionReceipt, WatchlistTemplate
from .engine_approval import engine_refusal
from .enrolment import generation, templates
from .live_capture import Camera, CaptureRefused, _refuse, _unrestricted, admission, camera_for_asset


class BatchConflict(Exception):
    """A batch id already recorded with another body (409)."""


class TracksRefused(CaptureRefused):
    """A batch refused for some of its tracks, named in `tracks`: the rest of the batch is not at fault, so the agent
    sends it again, under a new id, without them (the batch itself stays whole or nothing)."""

    def __init__(self, reason: str, tracks: list[str]):
        super().__init__(reason)
        self.tracks = tracks


# --- The session and the status ---------------------------------------------------------------------------------------


def _as_camera(camera: Asset | Camera) -> Camera:
    return camera_for_asset(camera) if isinstance(camera, Asset) else camera


def session(camera: Asset | Camera, deployment_id: int, *, now=None) -> dict:
    """What an agent matches with while its deployment is live: the authorised version's templates of the engine in
    use (no names, no subject ids, none of a person whose processing is restricted), the threshold and the engine.
    Logged as the export it is."""
    now = now or timezone.now()
    admitted = admission(_as_camera(camera), deployment_id, now)
    if admitted.refusal:
        _refuse(admitted.asset, admitted.refusal, admitted.deployment)
    deployment, engine = admitted.deployment, get_engine()
    rows = (
        WatchlistTemplate.objects.filter(
            watchlist_id=deployment.watchlist_id,
            approved_hash=deployment.authorised_watchlist_hash,
            engine=engine.name,
            weights_sha256=engine.weights_sha256,
        )
        .exclude(subject_id__in=restricted_subject_ids())
        .order_by("pk")
        .values_list("entry_id", "embedding")
    )
    exported = [
        {"entry": entry, "vector": base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()}
        for entry, vector in rows
    ]
    with transaction.atomic():
        audit.record(
            "agent.session",
            deployment,
            None,
            data={
                "asset": admitted.asset.identifier,
                "deployment": deployment.pk,
                "templates": len(exported),
                "watchlist_hash": deployment.authorised_watchlist_hash,
                "engine": engine.name,
                "weights_sha256": engine.weights_sha256,
            },
        )
    return {
        "deployment": deployment.pk,
        "reference": deployment.reference,
        "watchlist_hash": deployment.authorised_watchlist_hash,
        "threshold": f"{deployment.threshold:.3f}",
        "engine": {"name": engine.name, "weights_sha256": engine.weights_sha256, "dimensions": engine.dimensions},
        "generation": generation(deployment.watchlist_id),
        "templates": exported,
        "poll_seconds": settings.AGENT_POLL_SECONDS,
        "alert_window_seconds": settings.ALERT_WINDOW_SECONDS,
    }


def _booked(asset: Asset, deployment_id: int | None) -> Deployment | None:
    """The deployment if the camera is booked on it, whatever its state."""
    if deployment_id is None:
        return None
    return Deployment.objects.filter(pk=deployment_id, assets=asset).select_related("watchlist").first()


def status(camera: Asset | Camera, deployment_id: int, *, now=None) -> dict:
    """Whether the agent may capture for the deployment now (polled every few seconds, so not logged unless refused:
    a camera not booked on the deployment is refused)."""
    now = now or timezone.now()
    camera = _as_camera(camera)
    admitted = admission(camera, deployment_id, now)
    if not admitted.refusal:
        return {
            "live": True,
            "state": admitted.deployment.state,
            "generation": generation(admitted.deployment.watchlist_id),
        }
    booked = _booked(camera.asset, deployment_id)
    if booked is None:
        _refuse(camera.asset, f"{camera.asset} is not booked on deployment {deployment_id}.")
    answer = {"live": False, "state": booked.state, "reason": admitted.refusal}
    periods = deployments.live_periods(booked, now)
    if periods:
        # When the live window closed (now, if the deployment is in the live state but refused for another reason):
        # the agent cuts its open tracks there, so what it saw while live is recorded and nothing after it.
        answer["stopped_at"] = audit.format_time(min(periods[-1][1], now))
    return answer


# --- Batches ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Track:
    """One person passing, as the agent decided it (validated by the API's serializer)."""

    track: str
    first_seen: datetime.datetime
    last_seen: datetime.datetime
    frames: int
    faces: int
    best_score: float
    decision: str
    commitment: str
    entry: int | None = None
    candidates: list | None = None
    crop: str = ""


@dataclass(frozen=True)
class BatchAnswer:
    """The batch's answer, and whether it was recorded now (201) or before (200, a resend)."""

    body: dict
    created: bool


def body_sha256(body: dict) -> str:
    """The batch's canonical JSON's hash: the same body sent again hashes the same."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _earlier(batch_id, asset: Asset, deployment_id: int | None, digest: str) -> BatchAnswer | None:
    """A batch already recorded under this id: its first answer, or a conflict when the body, the deployment or the
    camera differs."""
    found = AgentBatch.objects.filter(pk=batch_id).select_related("capture").first()
    if found is None:
        return None
    if (found.body_sha256, found.deployment_id, found.capture.asset_id) != (digest, deployment_id, asset.pk):
        raise BatchConflict(f"Batch {batch_id} was recorded with another body: a batch id is used once.")
    return BatchAnswer({**found.answer, "duplicate": True}, created=False)


def _late_admission(camera: Camera, deployment_id: int | None, refusal: str, about) -> Deployment:
    """A deployment not live now may still take tracks seen while it was: the camera must be booked on it, it must
    have run, and Govern's engine must be approved (it re-scores the alerts); else the admission's refusal."""
    booked = _booked(camera.asset, deployment_id)
    if booked is None or booked.went_live_at is None:
        _refuse(camera.asset, refusal, about)
    # Still live by its state, yet refused (its list left force, its engine lost approval): the live periods come
    # from the deployment's own events, which such a change writes none of, so no track is taken on their word.
    if booked.state == DeploymentState.LIVE:
        _refuse(camera.asset, refusal, about or booked)
    engine_refused = engine_refusal()
    if engine_refused:
        _refuse(camera.asset, engine_refused, booked)
    return booked


def _within(tracks: list[Track], periods, asset: Asset, deployment: Deployment, now) -> None:
    """Refuse the batch, naming every track not seen within one live period of the deployment (or seen in the
    future), so the agent can send the others again without them."""
    oldest = now - datetime.timedelta(seconds=settings.AGENT_MAX_LATE_SECONDS)
    for track in tracks:
        if track.first_seen < oldest:
            _refuse(
                asset,
                f"Track {track.track} was seen at {track.first_seen}, more than AGENT_MAX_LATE_SECONDS "
                f"({settings.AGENT_MAX_LATE_SECONDS} s) ago: too late to be recorded.",
                deployment,
            )
    future = [track.track for track in tracks if track.last_seen > now]
    outside = [
        track.track
        for track in tracks
        if track.track not in future
        and not any(start <= track.first_seen and track.last_seen <= end for start, end in periods)
    ]
    reasons = []
    if future:
        reasons.append(f"Track(s) {', '.join(future)} were last seen after they were received.")
    if outside:
        reasons.append(
            f"Track(s) {', '.join(outside)} were seen outside the periods in which {deployment.reference} was live: "
            "a track seen when matching was not allowed is not accepted."
        )
    if reasons:
        reason = " ".join(reasons) + " The batch records nothing; send the other tracks again without them."
        with transaction.atomic():
            audit.record("capture.refused", deployment, None, data={"asset": asset.identifier}, reason=reason)
        raise TracksRefused(reason, future + outside)


@dataclass
class _Verified:
    """An alert track after Govern's engine re-scored its crop: the crop, the entry's subject, Govern's score for
    the entry and its own best candidates (or, for a person whose processing is now restricted, none: a receipt)."""

    track: Track
    crop: bytes
    subject: int | None
    score: float
    candidates: list[dict]
    best: float


def _rescore(tracks: list[Track], deployment: Deployment, asset: Asset) -> list[_Verified]:
    """Re-score every claimed alert's crop with Govern's engine against the authorised version's templates; a claim
    that does not reach the threshold on the claimed entry refuses the batch (an agent cannot invent an alert)."""
    claims = [track for track in tracks if track.decision == "alert"]
    if not claims:
        return []
    known = templates(deployment.watchlist_id, deployment.authorised_watchlist_hash)
    if not len(known):
        _refuse(
            asset, f"Alerts refused: {deployment.reference}'s templates are no longer held to check them.", deployment
        )
    engine, crops, faces = get_engine(), [], []
    for track in claims:
        try:
            checked = uploads.validate_image(base64.b64decode(track.crop, validate=True), min_side=32)
        except (binascii.Error, ValueError, uploads.ImageRejected) as exc:
            _refuse(asset, f"Batch refused: track {track.track}'s crop: {exc}", deployment)
        crops.append(checked.content)
        faces.append(engine.face_from_crop(Image.open(io.BytesIO(checked.content))))
    vectors = engine.embed(faces)
    threshold = float(deployment.threshold)
    every_scores, every_positions = known.nearest(vectors, len(known))
    restricted = restricted_subject_ids()
    top_scores, top_positions, bests = _unrestricted(
        known,
        vectors,
        every_scores[:, : settings.FACE_TOP_K],
        every_positions[:, : settings.FACE_TOP_K],
        -2.0,
        restricted,
    )
    verified = []
    for index, track in enumerate(claims):
        mine = [(float(s), p) for s, p in zip(every_scores[index], every_positions[index], strict=True)]
        on_entry = [
            (score, known.owners[position][1]) for score, position in mine if known.owners[position][0] == track.entry
        ]
        if not on_entry:
            _refuse(
                asset,
                f"Track {track.track} claims entry {track.entry}, which is not on the authorised list.",
                deployment,
            )
        score, subject = on_entry[0]
        if subject in restricted:  # restricted since the agent's session: no alert, the track leaves a receipt
            verified.append(_Verified(track, b"", None, score, [], bests[index]))
            continue
        if score < threshold:
            _refuse(
                asset,
                f"Track {track.track}'s alert on entry {track.entry} scores {score:.3f} on Govern's engine, below the "
                f"threshold {deployment.threshold}: the batch is refused.",
                deployment,
            )
        candidates = [
            {"subject": known.owners[p][1], "entry": known.owners[p][0], "score": round(float(s), 6)}
            for s, p in zip(top_scores[index], top_positions[index], strict=True)
        ]
        verified.append(_Verified(track, crops[index], subject, score, candidates, bests[index]))
    del vectors, faces
    return verified


def _open_alert(deployment: Deployment, subject: int, track: Track) -> Alert | None:
    """The subject's pending alert at the deployment whose person was seen within the alert window of the track,
    locked (a sighting is attached to it)."""
    window = datetime.timedelta(seconds=settings.ALERT_WINDOW_SECONDS)
    pending = Alert.objects.select_for_update(of=("self",)).filter(
        deployment=deployment, subject_id=subject, state=AlertState.PENDING
    )
    for alert in pending.order_by("-created_at", "-pk"):
        seen = [(alert.first_seen or alert.created_at, alert.captured_at)]
        seen += list(alert.sightings.values_list("first_seen", "last_seen"))
        if any(first - window <= track.last_seen and track.first_seen <= last + window for first, last in seen):
            return alert
    return None


def _track_data(track: Track, now) -> dict:
    return {
        "track": track.track,
        "faces": track.faces,
        "frames": track.frames,
        "first_seen": audit.format_time(track.first_seen),
        "last_seen": audit.format_time(track.last_seen),
        "received_at": audit.format_time(now),
        "commitment": track.commitment,
    }


def _seen(track: Track) -> dict:
    """What an alert, a sighting and a receipt each keep of their track: its faces, frames and when it was seen."""
    return {"faces": track.faces, "frames": track.frames, "first_seen": track.first_seen, "last_seen": track.last_seen}


def _raise(deployment, capture, engine, verified: _Verified, now) -> Alert:
    """An alert for a verified track, its crop under its own probe data key (as a frame's alert is)."""
    track = verified.track
    alert = Alert(
        deployment=deployment,
        capture=capture,
        watchlist_hash=deployment.authorised_watchlist_hash,
        entry_id=track.entry,
        subject_id=verified.subject,
        score=verified.score,
        threshold=deployment.threshold,
        candidates=verified.candidates,
        engine=engine.name,
        weights_sha256=engine.weights_sha256,
        probe_sha256=hashlib.sha256(verified.crop).hexdigest(),
        created_at=now,
        **_seen(track),
    )
    probe_key = data_keys.new_probe_key()
    alert.probe_ciphertext = probe_key.seal(verified.crop, associated_data=alert.associated_data())
    alert.save()
    with prepared.cursor() as cursor:
        data_keys.store_probe_key(cursor, probe_key, alert.pk, now)
    audit.record(
        "alert.raised",
        alert,
        None,
        data={
            "deployment": deployment.pk,
            "capture": str(capture.pk),
            "entry": track.entry,
            "score": round(alert.score, 6),
            "agent_score": round(track.best_score, 6),
            "threshold": deployment.threshold,
            "watchlist_hash": deployment.authorised_watchlist_hash,
            "engine": engine.name,
            "weights_sha256": engine.weights_sha256,
            "probe_sha256": alert.probe_sha256,
            **_track_data(track, now),
        },
    )
    return alert


def _attach(alert: Alert, capture, verified: _Verified, now) -> AlertSighting:
    """A later track of the alert's subject, attached to the pending alert; its crop goes no further."""
    track = verified.track
    sighting = AlertSighting.objects.create(
        alert=alert,
        capture=capture,
        deployment=alert.deployment,
        track=track.track,
        score=verified.score,
        **_seen(track),
        received_at=now,
        commitment=track.commitment,
    )
    data = {"deployment": alert.deployment_id, "capture": str(capture.pk), "score": round(verified.score, 6)}
    audit.record("alert.sighting", alert, None, data={**data, **_track_data(track, now)})
    return sighting


def _receipt(deployment, capture, engine, track: Track, best: float, now) -> None:
    """A receipt for a track that matched nobody: its commitment covers every crop of the track, in order."""
    data = {
        "deployment": deployment.pk,
        "watchlist_hash": deployment.authorised_watchlist_hash,
        "engine": engine.name,
        "weights_sha256": engine.weights_sha256,
        "best_score": round(best, 6),
        **_track_data(track, now),
    }
    event = audit.record("face.deleted", capture, None, data=data)
    DeletionReceipt.objects.create(
        capture=capture,
        deployment=deployment,
        watchlist_hash=deployment.authorised_watchlist_hash,
        best_score=best,
        commitment=track.commitment,
        engine=engine.name,
        weights_sha256=engine.weights_sha256,
        created_at=now,
        event_seq=event.seq,
        **_seen(track),
    )


def record_batch(
    camera: Asset | Camera, deployment_id: int | None, batch_id, tracks: list[Track], body: dict, *, now=None
):
    """Record a capture agent's batch of tracks whole, once; a resend is answered from the record."""
    now = now or timezone.now()
    camera = _as_camera(camera)
    digest = body_sha256(body)
    earlier = _earlier(batch_id, camera.asset, deployment_id, digest)
    if earlier is not None:
        return earlier
    _tracks_not_recorded(batch_id, tracks)
    admitted = admission(camera, deployment_id, now)
    if admitted.refusal:
        deployment = _late_admission(camera, deployment_id, admitted.refusal, admitted.deployment)
    else:
        deployment = admitted.deployment
    asset = camera.asset
    for track in tracks:
        if track.decision == "receipt" and track.best_score >= float(deployment.threshold):
            _refuse(
                asset,
                f"Batch refused: track {track.track} scores at or above the threshold yet left a receipt.",
                deployment,
            )
    _within(tracks, deployments.live_periods(deployment, now), asset, deployment, now)
    verified = {item.track.track: item for item in _rescore(tracks, deployment, asset)}
    engine = get_engine()
    try:
        with transaction.atomic():
            answer = _write(deployment, asset, engine, batch_id, tracks, verified, digest, now)
    except IntegrityError:
        # The same batch committed on another connection meanwhile (the primary key held this one until it did).
        earlier = _earlier(batch_id, asset, deployment.pk, digest)
        if earlier is None:
            _tracks_not_recorded(batch_id, tracks)  # a track recorded by another batch meanwhile
            raise
        return earlier
    return BatchAnswer(answer, created=True)


def _tracks_not_recorded(batch_id, tracks: list[Track]) -> None:
    """Refuse a batch carrying a track another batch recorded: one person passing is counted once."""
    recorded = AgentTrack.objects.filter(pk__in=[track.track for track in tracks]).values_list("pk", flat=True)
    if recorded:
        raise BatchConflict(
            f"Batch {batch_id} carries tracks recorded by an earlier batch ({', '.join(map(str, recorded))}): a "
            "track is recorded once."
        )


def _lock_subject(deployment: Deployment, subject: int) -> None:
    """Serialise alerts on one subject at one deployment, so two vans' batches cannot both find no open alert."""
    key = (deployment.pk * 1_000_003 + subject) % (1 << 63)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_SUBJECT_LOCK, key % (1 << 31)])


_SUBJECT_LOCK = 0x4156  # "AV": agent alerts' advisory lock space


def _write(deployment, asset, engine, batch_id, tracks, verified, digest, now) -> dict:
    """The batch's rows and events, in the caller's transaction; the batch's row first, so a concurrent resend waits
    on its key and then finds it."""
    # Restrictions read again in the writing transaction: a person restricted while the crops were re-scored leaves
    # a receipt, as in _rescore.
    restricted = restricted_subject_ids()
    verified = {
        key: _Verified(item.track, b"", None, item.score, [], item.best) if item.subject in restricted else item
        for key, item in verified.items()
    }
    alerted = [track for track in tracks if track.track in verified and verified[track.track].subject is not None]
    faces = sum(track.faces for track in tracks)
    capture = Capture.objects.create(
        deployment=deployment,
        asset=asset,
        received_at=now,
        faces=faces,
        alerts=len(alerted),
        receipts=len(tracks) - len(alerted),
        tracks=len(tracks),
    )
    batch = AgentBatch.objects.create(
        id=batch_id, capture=capture, deployment=deployment, body_sha256=digest, answer={}, received_at=now
    )
    AgentTrack.objects.bulk_create(
        [AgentTrack(id=track.track, deployment=deployment, capture=capture) for track in tracks]
    )
    raised, attached, receipts = [], [], 0
    for track in sorted(tracks, key=lambda each: (each.first_seen, each.track)):
        item = verified.get(track.track)
        if item is None or item.subject is None:
            best = track.best_score if item is None else item.best  # Govern's best among the unrestricted
            _receipt(deployment, capture, engine, track, best, now)
            receipts += 1
            continue
        _lock_subject(deployment, item.subject)
        open_alert = _open_alert(deployment, item.subject, track)
        if open_alert is not None:
            _attach(open_alert, capture, item, now)
            attached.append(open_alert.pk)
        else:
            raised.append(_raise(deployment, capture, engine, item, now).pk)
    answer = {
        "batch": str(batch_id),
        "tracks": len(tracks),
        "alerts": raised,
        "attached": attached,
        "receipts": receipts,
        "faces": faces,
        "duplicate": False,
    }
    audit.record(
        "capture.processed",
        capture,
        None,
        data={
            "deployment": deployment.pk,
            "asset": asset.identifier,
            "batch": str(batch_id),
            "faces": faces,
            "tracks": len(tracks),
            "alerts": len(raised),
            "sightings": len(attached),
            "receipts": receipts,
        },
    )
    deployments.add_capture_to_figures(deployment, faces=faces, alerts=len(raised))
    batch.answer = answer
    batch.save(update_fields=["answer"])
    return answer
