"""Matching inside what was approved: engine approval, enrolment of watchlist templates, live capture.

A frame is matched only for a live deployment, from a camera booked on it, against the templates of the exact
watchlist version it was authorised with. Each face ends as an alert (at or above the threshold) or a deletion
receipt; a non-matching face's template and crop live only in this process's memory and are dropped at once. A
frame's alerts, receipts and their audit events commit together, so faces = alerts + receipts, always.
"""

import datetime
import hashlib
import hmac
import io
import logging
import secrets
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import psycopg
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from PIL import Image

from apps.audit import services as audit
from apps.deployments import services as deployments
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Asset, Deployment
from apps.deployments.models import Outcome as Figures
from apps.outbox import services as outbox
from apps.watchlists import services as watchlists
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Watchlist
from govern import encryption, keyfiles, policy, prepared, uploads
from govern.errors import DATABASE_UNAVAILABLE, Conflict

from .choices import AlertState, Outcome
from .engine import get_engine
from .list_index import DIMENSIONS, ListIndex
from .models import Alert, CameraCredential, Capture, DeletionReceipt, EngineApproval, WatchlistTemplate

logger = logging.getLogger(__name__)


# --- The engine and its approval ------------------------------------------------------------------------------------


def engine_identity() -> tuple[str, str, bool]:
    """The process engine's name, weights hash and whether it is calibrated."""
    engine = get_engine()
    return engine.name, engine.weights_sha256, engine.calibrated


def _approvals():
    """The approvals of the engine in use (at most one)."""
    name, weights, _ = engine_identity()
    return EngineApproval.objects.filter(name=name, weights_sha256=weights)


def engine_refusal(approved: bool | None = None) -> str | None:
    """Why the engine in use may not run a live deployment, or None. `approved`: whether it is approved, when the
    caller already read that (a frame's admission reads it with the deployment, in one query)."""
    name, weights, calibrated = engine_identity()
    if not calibrated and not settings.FACE_ALLOW_UNCALIBRATED:
        return f"The face engine {name} is uncalibrated (no real weights): it recognises nobody."
    if not (_approvals().exists() if approved is None else approved):
        return f"The face engine {name} (weights {weights[:12]}…) is not approved for live use."
    return None


@transaction.atomic
def approve_engine(actor, *, reason: str, countersigned_by) -> EngineApproval:
    """The engine in use (its name and weights hash) approved for live deployments by two people.

    An authorising officer of full rank approves and a privacy officer countersigns: the oversight app's
    governed changes call this when the countersignature lands.
    """
    policy.require(actor, "matching.approve_engine")
    if countersigned_by is None or countersigned_by.pk == actor.pk:
        raise PermissionDenied("An engine approval needs a countersignature by another person.")
    policy.require(countersigned_by, "matching.countersign_engine")
    if len(reason.strip()) < 10:
        raise ValidationError({"reason": "Say what the approval rests on (e.g. the test report)."})
    name, weights, calibrated = engine_identity()
    approval, created = EngineApproval.objects.get_or_create(
        name=name, weights_sha256=weights, defaults={"calibrated": calibrated, "approved_by": actor, "reason": reason}
    )
    if created:
        audit.record(
            "engine.approve",
            approval,
            actor,
            data={
                "engine": name,
                "weights_sha256": weights,
                "calibrated": calibrated,
                "countersigned_by": countersigned_by.get_username(),
            },
            reason=reason,
        )
    return approval


def engine_condition(deployment, now) -> deployments.Condition:
    """The go-live gate's engine condition."""
    refusal = engine_refusal()
    name, _, calibrated = engine_identity()
    good = f"The face engine {name} is approved." + ("" if calibrated else " (UNCALIBRATED: allowed by setting)")
    return deployments.Condition("engine", refusal is None, good if refusal is None else refusal)


# --- Camera credentials ---------------------------------------------------------------------------------------------


@transaction.atomic
def issue_credential(actor, asset: Asset) -> str:
    """A new secret for a van or camera, shown once; earlier ones are revoked."""
    policy.require(actor, "matching.add_cameracredential")
    now = timezone.now()
    CameraCredential.objects.filter(asset=asset, revoked_at__isnull=True).update(revoked_at=now)
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    CameraCredential.objects.create(asset=asset, key_id=key_id, secret_sha256=_sha256(secret), issued_by=actor)
    audit.record("camera.credential_issued", asset, actor, data={"key_id": key_id})
    return f"{key_id}.{secret}"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- Enrolment: approved watchlist → templates ---------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolResult:
    """What enrolment did."""

    enrolled: int
    problems: list[str]


def _quality(faces) -> str | None:
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
        problem = _quality(found)
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
    _templates.cache_clear()
    return EnrolResult(len(rows), [])


def _enrolled(watchlist: Watchlist, approved_hash: str, engine) -> int:
    """How many templates this engine made for the version, if it made one for every entry (else 0)."""
    entries = watchlist.entries.count()
    templates = WatchlistTemplate.objects.filter(
        watchlist=watchlist, approved_hash=approved_hash, engine=engine.name, weights_sha256=engine.weights_sha256
    ).count()
    return templates if entries and templates == entries else 0


def _as_list(vector) -> list[float]:
    """pgvector returns a HalfVector or a list, depending on the driver's registration."""
    return vector.to_list() if hasattr(vector, "to_list") else list(vector)


def _halfvec(value) -> np.ndarray:
    """A halfvec from the binary protocol: int16 dimensions, int16 unused, then big-endian float16 values."""
    if isinstance(value, bytes | bytearray | memoryview):
        return np.frombuffer(value, dtype=">f2", offset=4)
    return np.asarray(_as_list(value), dtype=np.float32)  # a driver that registered pgvector's own loaders


@lru_cache(maxsize=16)
def _templates(watchlist_id: int, approved_hash: str) -> ListIndex:
    """An approved version's templates in this process's memory, for an exact search (pgvector is the record).

    Read in PostgreSQL's binary format, the float16 values as stored: at 20k templates 0.26 s against the ORM's
    text path's 4.6 s, with identical values (docs/benchmarks.md); a worker pays it on its first frame of a list.
    """
    # Django's cursors bind on the client, which cannot ask for binary results: a server-binding cursor can.
    with prepared.cursor() as cursor:
        cursor.execute(
            "SELECT embedding, entry_id, subject_id FROM matching_watchlisttemplate "
            "WHERE watchlist_id = %s AND approved_hash = %s ORDER BY id",
            [watchlist_id, approved_hash],
            binary=True,
        )
        rows = cursor.fetchall()
    halves = np.stack([_halfvec(row[0]) for row in rows]) if rows else np.zeros((0, DIMENSIONS), dtype=np.float16)
    return ListIndex(halves, [(row[1], row[2]) for row in rows])


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
_CAMERA_SQL = """
SELECT {credential_hash}, {asset}, {deployment}, {watchlist},
       EXISTS (SELECT FROM matching_engineapproval e WHERE e.name = %s AND e.weights_sha256 = %s)
FROM {source}
LEFT JOIN (deployments_deployment_assets da
           JOIN deployments_deployment d ON d.id = da.deployment_id AND d.state = %s
           JOIN watchlists_watchlist w ON w.id = d.watchlist_id) ON da.asset_id = a.id
WHERE {key}
ORDER BY d.start DESC, d.id DESC
"""
_COLUMNS = {"asset": _ASSET_COLUMNS, "deployment": _DEPLOYMENT_COLUMNS, "watchlist": _WATCHLIST_COLUMNS}
_BY_TOKEN = _CAMERA_SQL.format(
    **_COLUMNS,
    credential_hash="c.secret_sha256",
    source="matching_cameracredential c JOIN deployments_asset a ON a.id = c.asset_id",
    key="c.key_id = %s AND c.revoked_at IS NULL",
)
_BY_ASSET = _CAMERA_SQL.format(**_COLUMNS, credential_hash="NULL", source="deployments_asset a", key="a.id = %s")


def _camera_rows(sql: str, key) -> list[tuple]:
    """The admission's rows. The statement is also the request's check of its kept connection: one the server
    dropped (a restart) is reopened and the read sent again, once; one that answered needs no `SELECT 1` before the
    frame's transaction (Django's CONN_HEALTH_CHECKS would send one: a round trip a frame). The check now comes
    before the models rather than just before the transaction, so a restart during a frame's detection fails that
    frame (503), as a restart during its transaction always did."""
    name, weights, _ = engine_identity()
    params = [name, weights, DeploymentState.LIVE.value, key]
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
        deployment.watchlist = Watchlist.from_db(alias, _WATCHLIST_FIELDS, row[_WATCHLIST_AT:-1])
        deployment.engine_approved = row[-1]
        booked.append(deployment)
    return Camera(asset, booked)


def camera_for_token(token: str) -> Camera | None:
    """The camera a token `<key_id>.<secret>` belongs to, as admission reads it; None for a token unknown, revoked
    or wrong, or a camera no longer active."""
    key_id, _, secret = (token or "").partition(".")
    rows = _camera_rows(_BY_TOKEN, key_id)
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


def _admit(camera: Asset | Camera, deployment_id: int | None, now) -> tuple[Asset, Deployment]:
    """The camera's asset and the live deployment it may send faces to now, or a logged refusal."""
    if isinstance(camera, Asset):
        camera = camera_for_asset(camera)
    deployment = live_deployment_for(camera, now)
    asset = camera.asset
    if deployment is None:
        _refuse(asset, f"{asset} is not booked on a deployment that is live now.")
    if deployment_id is not None and deployment.pk != deployment_id:
        _refuse(asset, f"{asset} belongs to {deployment.reference}, not to deployment {deployment_id}.", deployment)
    refusal = engine_refusal(approved=deployment.engine_approved)
    if refusal:
        _refuse(asset, refusal, deployment)
    return asset, deployment


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


MAX_CROPS = 64


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
    templates = _templates(deployment.watchlist_id, deployment.authorised_watchlist_hash)
    threshold = float(deployment.threshold)
    key = _receipt_key()
    top_scores, top_positions = templates.nearest(vectors, settings.FACE_TOP_K)
    bests = [float(scores[0]) if len(scores) else -1.0 for scores in top_scores]
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
                        cursor, deployment, capture, engine, face, top_scores[index], top_positions[index], templates
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


def _raise_alert(cursor, deployment, capture, engine, face, scores, positions, templates: ListIndex) -> Alert:
    """An alert with its encrypted probe crop, and its event sent on the frame's cursor (in its pipeline); `scores`
    and `positions` are the face's best templates, best first."""
    probe = face.crop_jpeg()
    probe_sha = hashlib.sha256(probe).hexdigest()
    owners = [templates.owners[position] for position in positions]
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
    alert.probe_ciphertext = encryption.encrypt(probe, associated_data=alert.associated_data())
    _insert_alert(cursor, alert)
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


def _vacuum_task():
    from .tasks import vacuum_templates

    return vacuum_templates


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
    outbox.enqueue(_vacuum_task(), watchlist_id)
    _templates.cache_clear()
    return deleted


def vacuum_table(watchlist_id: int | None = None) -> None:
    """VACUUM the template table so deleted vectors leave the pages (outside any transaction), and log it."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM matching_watchlisttemplate")
    if watchlist_id is not None:
        with transaction.atomic():
            audit.record("templates.vacuumed", ("watchlists.watchlist", watchlist_id), None)


def reconciliation(deployment: Deployment) -> dict:
    """Faces processed, alerts and receipts for a deployment, and whether faces = alerts + receipts."""
    faces = sum(Capture.objects.filter(deployment=deployment).values_list("faces", flat=True))
    alerts = Alert.objects.filter(deployment=deployment).count()
    receipts = DeletionReceipt.objects.filter(deployment=deployment).count()
    return {"faces": faces, "alerts": alerts, "receipts": receipts, "reconciles": faces == alerts + receipts}


# --- Alerts: a human judges every one before anything is done ------------------------------------------------------


def _lock_alert(alert: Alert) -> Alert:
    return Alert.objects.select_for_update(of=("self",)).select_related("deployment").get(pk=alert.pk)


def refresh_figures(deployment: Deployment) -> None:
    """The deployment's published figures, recounted from its captures and alerts (the system records them) after an
    officer's judgement. The figures' row is locked before counting, so a frame committing meanwhile is counted."""
    list(Figures.objects.select_for_update().filter(deployment=deployment))
    alerts = Alert.objects.filter(deployment=deployment)
    deployments.record_outcome(
        None,
        deployment,
        faces_processed=Capture.objects.filter(deployment=deployment).aggregate(faces=Sum("faces"))["faces"] or 0,
        alerts=alerts.count(),
        true_alerts=alerts.filter(state__in=[AlertState.CONFIRMED, AlertState.ENGAGED, AlertState.CLOSED]).count(),
        false_alerts=alerts.filter(state=AlertState.FALSE).count(),
        engagements=alerts.filter(engaged_at__isnull=False).count(),
        arrests=alerts.filter(outcome=Outcome.ARREST).count(),
        other_outcomes=alerts.filter(outcome=Outcome.OTHER_ACTION).count(),
    )


@transaction.atomic
def adjudicate(actor, alert: Alert, *, match: bool, reason: str) -> Alert:
    """An officer judges the alert: a true match, or a false alert, with the reason."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.adjudicate_alert", locked)
    if not reason or len(reason.strip()) < 5:
        raise ValidationError({"reason": "Say what the judgement rests on."})
    if not reason.strip().isprintable():
        raise ValidationError({"reason": "Write the reason as one line of text: no line breaks or control characters."})
    if locked.state != AlertState.PENDING:
        raise Conflict(f"Alert {locked.pk} was already judged ({locked.get_state_display().lower()}).")
    locked.state = AlertState.CONFIRMED if match else AlertState.FALSE
    locked.adjudicated_by, locked.adjudicated_at, locked.adjudication_reason = actor, timezone.now(), reason.strip()
    locked.save()
    audit.record("alert.adjudicated", locked, actor, data={"match": match, "score": locked.score}, reason=reason)
    refresh_figures(locked.deployment)
    return locked


@transaction.atomic
def engage(actor, alert: Alert) -> Alert:
    """Officers speak to the person: only after the alert was judged a true match."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.adjudicate_alert", locked)
    if locked.state != AlertState.CONFIRMED:
        raise Conflict("An engagement is recorded only after the alert was judged a true match.")
    locked.state, locked.engaged_by, locked.engaged_at = AlertState.ENGAGED, actor, timezone.now()
    locked.save()
    audit.record("alert.engaged", locked, actor)
    refresh_figures(locked.deployment)
    return locked


@transaction.atomic
def record_alert_outcome(actor, alert: Alert, *, outcome: str, note: str = "") -> Alert:
    """What followed the engagement: arrest, other action, or none."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.adjudicate_alert", locked)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": f"Choose one of: {', '.join(Outcome.values)}."})
    if locked.state != AlertState.ENGAGED:
        raise Conflict("An outcome is recorded only after an engagement.")
    locked.state, locked.outcome, locked.outcome_note = AlertState.CLOSED, outcome, note.strip()
    locked.save()
    audit.record("alert.outcome", locked, actor, data={"outcome": outcome}, reason=note)
    refresh_figures(locked.deployment)
    return locked


def read_probe(actor, alert: Alert, reason: str) -> bytes:
    """The alert's probe crop, for someone who may see alerts and said why; the consultation is logged first."""
    policy.require(actor, "matching.view_alert", alert)
    if alert.probe_deleted_at is not None:
        raise Conflict("This alert's probe was deleted under the retention policy.")
    with transaction.atomic():
        audit.record_access(alert, actor, reason, data={"deployment": alert.deployment_id})
    return encryption.decrypt(bytes(alert.probe_ciphertext), associated_data=alert.associated_data())


# --- Retention of alerts --------------------------------------------------------------------------------------------


@transaction.atomic
def place_hold(actor, alert: Alert, *, reason: str) -> Alert:
    """An evidential hold: retention will not delete this alert's probe until it is released."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.hold_alert", locked)
    if len(reason.strip()) < 10:
        raise ValidationError({"reason": "Say what the hold is for (at least 10 characters)."})
    if locked.probe_deleted_at is not None:
        raise Conflict("This alert's probe was already deleted under the retention policy.")
    locked.hold_reason, locked.hold_by = reason.strip(), actor
    locked.save()
    audit.record("alert.hold", locked, actor, reason=reason)
    return locked


@transaction.atomic
def release_hold(actor, alert: Alert, *, reason: str) -> Alert:
    """Release an evidential hold."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.hold_alert", locked)
    if not locked.hold_reason:
        raise Conflict("This alert has no evidential hold.")
    locked.hold_reason, locked.hold_by = "", None
    locked.save()
    audit.record("alert.hold_released", locked, actor, reason=reason)
    return locked


def alerts_past_retention(states, cutoff):
    """Alerts in these states judged at or before the cutoff whose probe is still held (held ones included)."""
    return Alert.objects.filter(state__in=list(states), adjudicated_at__lte=cutoff, probe_deleted_at__isnull=True)


def retention_sweep(now=None, dry_run: bool = False, *, states=(AlertState.FALSE,), hours=None) -> list[int]:
    """Delete the probes of alerts in `states` judged more than `hours` ago and not on hold, each with a receipt.

    The oversight app's retention sweep calls this once per data class with the privacy officers' policy; the
    default is false alerts after ALERT_FALSE_RETENTION_DAYS. The alert row stays (its counts, judgement and
    receipt), so faces = alerts + receipts still holds.
    """
    now = now or timezone.now()
    hours = settings.ALERT_FALSE_RETENTION_DAYS * 24 if hours is None else hours
    due = alerts_past_retention(states, now - datetime.timedelta(hours=hours)).filter(hold_reason="")
    done = []
    for alert in due.order_by("pk"):
        if dry_run:
            done.append(alert.pk)
            continue
        with transaction.atomic():
            locked = _lock_alert(alert)
            if locked.hold_reason or locked.probe_deleted_at is not None:
                continue
            Alert.objects.filter(pk=locked.pk).update(probe_ciphertext=b"", probe_deleted_at=now, candidates=[])
            audit.record(
                "alert.probe_deleted",
                locked,
                None,
                data={"probe_sha256": locked.probe_sha256, "state": locked.state, "retention_hours": hours},
            )
            done.append(locked.pk)
    return done
