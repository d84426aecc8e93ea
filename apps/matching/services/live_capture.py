"""The live hot path: a camera's frame (or its crops) admitted, matched and recorded. Changes here go with
benchmarks/frame_cost.py and benchmarks/live_bench.py run before and after (docs/benchmarks.md).

A frame is matched only for a live deployment, from a camera booked on it, against the templates of the exact
watchlist version it was authorised with. Each face ends as an alert (at or above the threshold) or a deletion
receipt; a non-matching face's template and crop live only in this process's memory and are dropped at once. A
frame's alerts, receipts and their audit events commit together, so faces = alerts + receipts, always.

Two processes share the work (capture_queue hands a frame from one to the other): the web process admits a frame
with `admit`, `check_frame` and `check_crops` (credential, live deployment, booked camera, the image itself), without
the face engine, so a refused frame costs no model time; a capture worker runs `capture_frame` or `capture_crops`,
which admit it again (the deployment may have stopped meanwhile; the engine in use must be approved) and run the
models.
"""

import hashlib
import hmac
import io
import logging
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image

from apps.audit import data_keys
from apps.audit import services as audit
from apps.deployments import services as deployments
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Asset, Deployment
from apps.watchlists.models import Watchlist
from apps.watchlists.selectors import restricted_subject_ids
from govern import keyfiles, prepared, uploads
from govern.errors import DATABASE_UNAVAILABLE

from ..engine import get_engine
from ..list_index import ListIndex
from ..models import Alert, Capture
from . import camera_credentials
from .engine_approval import engine_identity, engine_refusal
from .enrolment import drop_stale, enrolment_refusal, forget, held_watchlists, templates

logger = logging.getLogger(__name__)


# --- Camera credentials ---------------------------------------------------------------------------------------------

# Issued and revoked in camera_credentials; named here too, where the demo, the tests and the benchmarks call it.
issue_credential = camera_credentials.issue_credential
_sha256 = camera_credentials.secret_hash


# --- Live capture ---------------------------------------------------------------------------------------------------


class CaptureRefused(Exception):
    """A frame that may not be matched; the reason is logged and returned."""


@dataclass(frozen=True)
class CaptureResult:
    """What became of a frame's faces."""

    capture_id: str
    faces: int
    alerts: list[int]
    receipts: int


def _receipt_key() -> keyfiles.SymmetricKey:
    """The receipts' HMAC key and its id (re-read only when a rotation changed the file: frames are a hot path)."""
    return keyfiles.receipt_key()


def _refuse(asset: Asset, reason: str, deployment: Deployment | None = None) -> None:
    with transaction.atomic():
        audit.record("capture.refused", deployment or asset, None, data={"asset": asset.identifier}, reason=reason)
    raise CaptureRefused(reason)


@dataclass(frozen=True)
class Camera:
    """A van or camera as a frame's admission reads it: its asset, and the deployments it is booked on that are in
    the live state, each with its list and, as `engine_approved`, whether the engine in use is approved."""

    asset: Asset
    booked: list[Deployment]


# A frame's credential and admission in one statement on the driver's cursor, since every frame asks: the ORM's
# compilation of the two queries this replaces was a third of a frame's Python (benchmarks/frame_cost.py). It reads
# only what admission and matching use (deployments.is_live and watchlists.in_force, the threshold and the authorised
# version), never the plan, grounds and gate report.
_ASSET_FIELDS = ("id", "kind", "identifier", "description", "active")
_DEPLOYMENT_FIELDS = ("id", "reference", "start", "end", "state", "threshold", "authorised_watchlist_hash")
_DEPLOYMENT_FIELDS += ("watchlist_id",)
_WATCHLIST_FIELDS = ("id", "state", "intended_end", "approval_route", "ratify_by", "ratified_at", "approved_hash")


def _columns(model, alias: str, names: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """The named fields in the model's own order (Model.from_db takes the values in that order) and their columns
    as SQL, prefixed with the table's alias."""
    fields = [field for field in model._meta.concrete_fields if field.attname in names]
    assert len(fields) == len(names), f"{model.__name__} has no field among {names}"  # else it would load lazily
    return tuple(field.attname for field in fields), ", ".join(f'{alias}."{field.column}"' for field in fields)


_ASSET_FIELDS, _ASSET_COLUMNS = _columns(Asset, "a", _ASSET_FIELDS)
_DEPLOYMENT_FIELDS, _DEPLOYMENT_COLUMNS = _columns(Deployment, "d", _DEPLOYMENT_FIELDS)
_WATCHLIST_FIELDS, _WATCHLIST_COLUMNS = _columns(Watchlist, "w", _WATCHLIST_FIELDS)
# The last column is the template generations of the lists this worker holds (enrolment.templates): read with every
# frame, in the statement it sends anyway, so a list whose templates were deleted is dropped before the frame is
# matched (benchmarks/generation_bench.py measures what it adds). A held list with no live deployment any more (stopped
# in an emergency, or ended) reads as generation -1, so it is dropped too: the web process refuses that deployment's
# frames without calling a capture worker, and the worker learns of the stop with its next frame from any camera.
_CAMERA_SQL = """
SELECT {credential_hash}, {asset}, {deployment}, {watchlist},
       EXISTS (SELECT FROM matching_engineapproval e WHERE e.name = %s AND e.weights_sha256 = %s),
       ARRAY(SELECT r.subject_id FROM watchlists_subjectrestriction r WHERE r.lifted_at IS NULL),
       ARRAY(SELECT ARRAY[h.id, CASE WHEN EXISTS (SELECT FROM deployments_deployment x
                                                  WHERE x.watchlist_id = h.id AND x.state = '{live}')
                                THEN coalesce(g.generation, 0) ELSE -1 END]
             FROM unnest(%s::bigint[]) h(id) LEFT JOIN matching_templategeneration g ON g.watchlist_id = h.id)
FROM {source}
LEFT JOIN (deployments_deployment_assets da
           JOIN deployments_deployment d ON d.id = da.deployment_id AND d.state = %s
           JOIN watchlists_watchlist w ON w.id = d.watchlist_id) ON da.asset_id = a.id
WHERE {key}
ORDER BY d.start DESC, d.id DESC
"""
_COLUMNS = {"asset": _ASSET_COLUMNS, "deployment": _DEPLOYMENT_COLUMNS, "watchlist": _WATCHLIST_COLUMNS}
_COLUMNS["live"] = DeploymentState.LIVE.value
_BY_TOKEN = _CAMERA_SQL.format(
    **_COLUMNS,
    credential_hash="c.secret_sha256",
    source="matching_cameracredential c JOIN deployments_asset a ON a.id = c.asset_id",
    key="c.key_id = %s AND c.revoked_at IS NULL",
)
_BY_ASSET = _CAMERA_SQL.format(**_COLUMNS, credential_hash="NULL", source="deployments_asset a", key="a.id = %s")


def _camera_rows(sql: str, key, *, engine: bool = True) -> list[tuple]:
    """The admission's rows. The statement is also the request's check of its kept connection: one the server
    dropped (a restart) is reopened and the read sent again, once; one that answered needs no `SELECT 1` before the
    frame's transaction (Django's CONN_HEALTH_CHECKS would send one: a round trip a frame). The check now comes
    before the models rather than just before the transaction, so a restart during a frame's detection fails that
    frame (503), as a restart during its transaction always did. Without `engine` (the web process, which never loads
    the face engine) the rows say no engine is approved: the capture worker reads that with its own engine."""
    name, weights, _ = engine_identity() if engine else ("", "", False)
    params = [name, weights, held_watchlists(), DeploymentState.LIVE.value, key]
    try:
        return _read(sql, params)
    except DATABASE_UNAVAILABLE as exc:
        dropped = connection.connection is not None and connection.connection.closed
        if connection.in_atomic_block or not dropped:
            raise
        logger.warning("A frame's admission found its database connection dropped (%s); reconnecting", exc)
        connection.close()
        return _read(sql, params)


def _read(sql: str, params: list) -> list[tuple]:
    with prepared.cursor() as cursor:
        prepared.execute(cursor, sql, params)
        rows = cursor.fetchall()
    connection.health_check_done = True  # it just answered
    if rows:  # before any match: the templates of a list that lost some are dropped, whatever this frame is
        drop_stale(dict(rows[0][-1]))
    return rows


# Where each model's values start in a row of _CAMERA_SQL (the credential's hash comes first).
_DEPLOYMENT_AT = 1 + len(_ASSET_FIELDS)
_WATCHLIST_AT = _DEPLOYMENT_AT + len(_DEPLOYMENT_FIELDS)


def _camera(rows: list[tuple]) -> Camera:
    alias = connection.alias
    asset = Asset.from_db(alias, _ASSET_FIELDS, rows[0][1:_DEPLOYMENT_AT])
    booked = []
    for row in rows:
        if row[_DEPLOYMENT_AT] is None:
            continue
        deployment = Deployment.from_db(alias, _DEPLOYMENT_FIELDS, row[_DEPLOYMENT_AT:_WATCHLIST_AT])
        deployment.watchlist = Watchlist.from_db(alias, _WATCHLIST_FIELDS, row[_WATCHLIST_AT:-3])
        deployment.engine_approved = row[-3]
        deployment.restricted_subjects = frozenset(row[-2])
        booked.append(deployment)
    return Camera(asset, booked)


def camera_for_token(token: str, *, engine: bool = True) -> Camera | None:
    """The camera a token `<key_id>.<secret>` belongs to, as admission reads it; None for a token unknown, revoked
    or wrong, or a camera no longer active. Without `engine` (the web process's admission) the face engine is not
    loaded and its deployments' `engine_approved` is False: the capture worker reads it with its own engine."""
    key_id, _, secret = (token or "").partition(".")
    rows = _camera_rows(_BY_TOKEN, key_id, engine=engine)
    if not rows or not hmac.compare_digest(rows[0][0], _sha256(secret)):
        return None
    camera = _camera(rows)
    return camera if camera.asset.active else None


def camera_for_asset(asset: Asset) -> Camera:
    """An asset's camera as admission reads it (tests and benchmarks send frames as an asset, not with a token)."""
    rows = _camera_rows(_BY_ASSET, asset.pk)
    return _camera(rows) if rows else Camera(asset, [])


def live_deployment_for(camera: Camera, now) -> Deployment | None:
    """The deployment this camera is booked on that is live now, with its list and, as `engine_approved`, whether
    the engine in use is approved."""
    for deployment in camera.booked:
        if deployments.is_live(deployment, now):
            return deployment
    return None


def _not_live(asset: Asset, now) -> tuple[str, Deployment | None]:
    """Why a camera with no live deployment is refused, and the deployment it names (off the hot path: a refused
    frame only). A deployment of the camera's stopped in an emergency is named with its reason, and every stopped
    deployment's list leaves this worker's memory: its templates are not kept for a run that needs a new
    authorisation."""
    stopped = Deployment.objects.filter(state=DeploymentState.STOPPED, end__gt=now)
    forget(stopped.values_list("watchlist_id", flat=True))
    own = stopped.filter(assets=asset, start__lte=now).order_by("-start").first()
    if own is not None:
        return f"{own.reference} was stopped in an emergency: {own.status_reason}", own
    return f"{asset} is not booked on a deployment that is live now.", None


@dataclass(frozen=True)
class Admission:
    """A camera's admission: its asset, the live deployment it may send faces to now, or why not (and the deployment
    the refusal is logged against)."""

    asset: Asset
    deployment: Deployment | None
    refusal: str = ""


def admission(camera: Asset | Camera, deployment_id: int | None, now, *, engine: bool = True) -> Admission:
    """Whether the camera may send faces to the deployment now, without logging: one code path for the rules, which
    frames, crops and capture agents (whose status poll reads it every few seconds) all take. Without `engine` (the
    web process's half, which loads no face engine) the engine's approval and the list's templates are not checked:
    the capture worker checks them with its own engine."""
    if isinstance(camera, Asset):
        camera = camera_for_asset(camera)
    deployment = live_deployment_for(camera, now)
    asset = camera.asset
    if deployment is None:
        reason, stopped = _not_live(asset, now)
        return Admission(asset, stopped, reason)
    if deployment_id is not None and deployment.pk != deployment_id:
        return Admission(
            asset, deployment, f"{asset} belongs to {deployment.reference}, not to deployment {deployment_id}."
        )
    if not engine:
        return Admission(asset, deployment)
    refusal = engine_refusal(approved=deployment.engine_approved)
    if refusal:
        return Admission(asset, deployment, refusal)
    # The engine in use changed after go-live (a restart with another engine): its templates of the list are in this
    # process's memory once read, so the check costs a frame nothing after the first; none means every face would be
    # a receipt, so the frame is refused and says why instead.
    if not len(templates(deployment.watchlist_id, deployment.authorised_watchlist_hash)):
        forget([deployment.watchlist_id])  # not remembered empty: a re-enrolment elsewhere is seen by the next frame
        refusal = enrolment_refusal(deployment.watchlist, deployment.authorised_watchlist_hash)
        if refusal:
            return Admission(asset, deployment, refusal)
    return Admission(asset, deployment)


def _logged(admitted: Admission) -> tuple[Asset, Deployment]:
    if admitted.refusal:
        _refuse(admitted.asset, admitted.refusal, admitted.deployment)
    return admitted.asset, admitted.deployment


def admit(camera: Camera, deployment_id: int | None, now) -> tuple[Asset, Deployment]:
    """The camera's asset and the live deployment it is booked on now, or a logged refusal: the web process's half of
    admission, which needs no face engine."""
    return _logged(admission(camera, deployment_id, now, engine=False))


def check_frame(asset: Asset, deployment: Deployment, frame: bytes) -> bytes:
    """The frame if it is an image a camera may send, or a logged refusal (400), before any worker sees it."""
    try:
        uploads.validate_image(frame)
    except uploads.ImageRejected as exc:
        _refuse(asset, f"Frame refused: {exc}", deployment)
    return frame


MAX_CROPS = 64


def check_crops(asset: Asset, deployment: Deployment, crops: list[bytes]) -> list[bytes]:
    """The crops if there are 1 to MAX_CROPS images a camera may send, or a logged refusal (400)."""
    if not 1 <= len(crops) <= MAX_CROPS:
        _refuse(asset, f"Frame refused: send 1 to {MAX_CROPS} crops at a time, not {len(crops)}.", deployment)
    for number, crop in enumerate(crops, start=1):
        try:
            uploads.validate_image(crop, min_side=32)
        except uploads.ImageRejected as exc:
            _refuse(asset, f"Frame refused: crop {number}: {exc}", deployment)
    return crops


def _admit(camera: Asset | Camera, deployment_id: int | None, now) -> tuple[Asset, Deployment]:
    """The camera's asset and the live deployment it may send faces to now, with the engine in use approved and the
    authorised list's templates made by it, or a logged refusal (the capture worker's admission)."""
    return _logged(admission(camera, deployment_id, now))


def capture_frame(camera: Asset | Camera, frame: bytes, *, deployment_id: int | None = None, now=None) -> CaptureResult:
    """Match one JPEG frame from a camera (its asset, or the Camera its credential's lookup read); every face ends
    as an alert or a deletion receipt, in one transaction."""
    now = now or timezone.now()
    asset, deployment = _admit(camera, deployment_id, now)
    try:
        checked = uploads.validate_image(frame, keep_pixels=True)
    except uploads.ImageRejected as exc:
        _refuse(asset, f"Frame refused: {exc}", deployment)
    engine = get_engine()
    faces, vectors = engine.detect_and_embed(checked.pixels)
    del checked, frame
    return _match_and_record(deployment, asset, engine, faces, vectors, now)


def capture_crops(
    camera: Asset | Camera, crops: list[bytes], *, deployment_id: int | None = None, now=None
) -> CaptureResult:
    """Match faces a van detected itself (one JPEG crop per face), with the same rules and receipts as frames."""
    now = now or timezone.now()
    asset, deployment = _admit(camera, deployment_id, now)
    if not 1 <= len(crops) <= MAX_CROPS:
        _refuse(asset, f"Frame refused: send 1 to {MAX_CROPS} crops at a time, not {len(crops)}.", deployment)
    engine = get_engine()
    faces = []
    for number, crop in enumerate(crops, start=1):
        try:
            checked = uploads.validate_image(crop, min_side=32)
        except uploads.ImageRejected as exc:
            _refuse(asset, f"Frame refused: crop {number}: {exc}", deployment)
        faces.append(engine.face_from_crop(Image.open(io.BytesIO(checked.content))))
    vectors = engine.embed(faces)
    return _match_and_record(deployment, asset, engine, faces, vectors, now)


_CAPTURE_SQL = (
    "INSERT INTO matching_capture (id, deployment_id, asset_id, received_at, faces, alerts, receipts) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
# A receipt and its event in one statement: the event's position goes into the receipt without a round trip.
_RECEIPT_SQL = (
    "INSERT INTO matching_deletionreceipt (capture_id, deployment_id, watchlist_hash, best_score, "  # noqa: S608
    "commitment, engine, weights_sha256, created_at, event_seq) "
    f"SELECT %s, %s, %s, %s, %s, %s, %s, %s, o_seq FROM {audit.APPEND_CALL}"
)


# An alert's row straight from the model's fields, on the frame's driver cursor: the ORM's save compiled the same
# INSERT on every alert, a millisecond of a frame's Python (benchmarks/frame_cost.py --alerts).
_ALERT_FIELDS = [field for field in Alert._meta.concrete_fields if not field.primary_key]
_ALERT_COLUMNS = ", ".join(f'"{field.column}"' for field in _ALERT_FIELDS)
_ALERT_SQL = (
    f"INSERT INTO {Alert._meta.db_table} ({_ALERT_COLUMNS}) "  # noqa: S608  (the model's own names)
    f"VALUES ({', '.join(['%s'] * len(_ALERT_FIELDS))}) RETURNING id"
)


def _insert_alert(cursor, alert: Alert) -> None:
    """Write a new alert's row as the ORM's save would (each field's value as it prepares it) and set its id."""
    values = [field.get_db_prep_save(field.pre_save(alert, True), connection) for field in _ALERT_FIELDS]
    prepared.execute(cursor, _ALERT_SQL, values)
    alert.pk = cursor.fetchone()[0]
    prepared.mark_saved(alert)


def _match_and_record(deployment, asset, engine, faces, vectors, now) -> CaptureResult:
    """Compare each face with the authorised version's templates and record alerts and receipts together."""
    known = templates(deployment.watchlist_id, deployment.authorised_watchlist_hash)
    threshold = float(deployment.threshold)
    key = _receipt_key()
    top_scores, top_positions = known.nearest(vectors, settings.FACE_TOP_K)
    bests = [float(scores[0]) if len(scores) else -1.0 for scores in top_scores]
    restricted = getattr(deployment, "restricted_subjects", None)
    if any(best >= threshold for best in bests) and (restricted is None or restricted):
        restricted = restricted_subject_ids() if restricted is None else restricted
        best_of = _unrestricted(known, vectors, top_scores, top_positions, threshold, restricted)
        top_scores, top_positions, bests = best_of
    matched = sum(best >= threshold for best in bests)
    # Decided in memory first, so the capture row is written once with its counts (faces = alerts + receipts).
    capture = Capture(
        deployment=deployment,
        asset=asset,
        received_at=now,
        faces=len(faces),
        alerts=matched,
        receipts=len(faces) - matched,
    )
    receipt = {
        "deployment": deployment.pk,
        "watchlist_hash": deployment.authorised_watchlist_hash,
        "receipt_key": key.key_id,
        "engine": engine.name,
        "weights_sha256": engine.weights_sha256,
        "time": audit.format_time(now),
    }
    alerts, receipts = [], 0
    # One transaction, and on the driver's cursor in pipeline mode: the statements go out without waiting for each
    # other's answers, so a frame of receipts writes in four round trips (BEGIN, the figures' answer, the pipeline's
    # sync, COMMIT), not seven; an alert adds one, for its id.
    connection.ensure_connection()
    with transaction.atomic(), connection.wrap_database_errors, connection.connection.pipeline():
        with psycopg.Cursor(connection.connection) as cursor:
            counts = [capture.faces, capture.alerts, capture.receipts]
            prepared.execute(cursor, _CAPTURE_SQL, [capture.pk, deployment.pk, asset.pk, now, *counts])
            prepared.mark_saved(capture)
            for index, (face, vector, best) in enumerate(zip(faces, vectors, bests, strict=True)):
                if best >= threshold:
                    alert = _raise_alert(
                        cursor, deployment, capture, engine, face, top_scores[index], top_positions[index], known
                    )
                    alerts.append(alert)
                    continue
                commitment = hmac.new(
                    key.material, capture.pk.bytes + index.to_bytes(4, "big") + vector.tobytes(), hashlib.sha256
                ).hexdigest()
                event = audit.append_params(
                    "face.deleted",
                    capture,
                    None,
                    data={**receipt, "best_score": round(best, 6), "commitment": commitment},
                )
                row = [capture.pk, deployment.pk, deployment.authorised_watchlist_hash, best, commitment, engine.name]
                prepared.execute(cursor, _RECEIPT_SQL, [*row, engine.weights_sha256, now, *event])
                receipts += 1
            processed = {"faces": len(faces), "alerts": len(alerts), "receipts": receipts}
            audit.send(
                cursor,
                "capture.processed",
                capture,
                None,
                data={"deployment": deployment.pk, "asset": asset.identifier, **processed},
            )
        deployments.add_capture_to_figures(deployment, faces=len(faces), alerts=len(alerts))
    # Nothing of a non-matching face outlives this call: the vectors and crops go with the frame.
    del faces, vectors, top_scores, top_positions, bests
    return CaptureResult(str(capture.pk), len(alerts) + receipts, [alert.pk for alert in alerts], receipts)


def _unrestricted(known: ListIndex, vectors, top_scores, top_positions, threshold: float, restricted):
    """The faces' best templates without those of people whose processing is restricted (DPA 2018 s.47(2)). The
    restricted are read afresh with each frame's admission (in its one statement), so a restriction holds in every
    worker from the moment it is recorded, whatever version the worker holds in memory. A face whose best templates
    were restricted is searched again over the whole list (a rare path: only when a restricted person is among a
    face's best), so the alert names the best of the others."""
    if not restricted:
        return top_scores, top_positions, [float(scores[0]) if len(scores) else -1.0 for scores in top_scores]
    kept_scores, kept_positions, bests = [], [], []
    for vector, scores, positions in zip(vectors, top_scores, top_positions, strict=True):
        if len(scores) and float(scores[0]) >= threshold:
            keep = [known.owners[position][1] not in restricted for position in positions]
            if not all(keep):  # searched again over the whole list, so the alert still names its best K
                scores, positions = (row[0] for row in known.nearest(vector[None, :], len(known)))
                keep = [known.owners[position][1] not in restricted for position in positions]
            scores, positions = scores[keep][: settings.FACE_TOP_K], positions[keep][: settings.FACE_TOP_K]
        kept_scores.append(scores)
        kept_positions.append(positions)
        bests.append(float(scores[0]) if len(scores) else -1.0)
    return kept_scores, kept_positions, bests


def _raise_alert(cursor, deployment, capture, engine, face, scores, positions, known: ListIndex) -> Alert:
    """An alert with its encrypted probe crop, and its event sent on the frame's cursor (in its pipeline); `scores`
    and `positions` are the face's best templates, best first."""
    probe = face.crop_jpeg()
    probe_sha = hashlib.sha256(probe).hexdigest()
    owners = [known.owners[position] for position in positions]
    entry_id, subject_id = owners[0]
    alert = Alert(
        deployment=deployment,
        capture=capture,
        watchlist_hash=deployment.authorised_watchlist_hash,
        entry_id=entry_id,
        subject_id=subject_id,
        score=float(scores[0]),
        threshold=deployment.threshold,
        candidates=[
            {"subject": subject, "entry": entry, "score": round(float(score), 6)}
            for (entry, subject), score in zip(owners, scores, strict=True)
        ],
        engine=engine.name,
        weights_sha256=engine.weights_sha256,
        probe_sha256=probe_sha,
        created_at=capture.received_at,
    )
    # Under its own data key, so the retention sweep can destroy every copy of the probe (docs/security.md).
    probe_key = data_keys.new_probe_key()
    alert.probe_ciphertext = probe_key.seal(probe, associated_data=alert.associated_data())
    _insert_alert(cursor, alert)
    data_keys.store_probe_key(cursor, probe_key, alert.pk, capture.received_at)
    audit.send(
        cursor,
        "alert.raised",
        alert,
        None,
        data={
            "deployment": deployment.pk,
            "capture": str(capture.pk),
            "entry": entry_id,
            "score": round(alert.score, 6),
            "threshold": deployment.threshold,
            "watchlist_hash": deployment.authorised_watchlist_hash,
            "engine": engine.name,
            "weights_sha256": engine.weights_sha256,
            "probe_sha256": probe_sha,
        },
    )
    return alert
