"""A camera's frame handed from the web process to a capture worker, and its answer awaited (docs/architecture.md,
"Live capture"). The web process admits the frame without the face engine (live_capture.admit, check_frame,
check_crops), so a refused frame costs no worker call; a capture worker, the only process that loads the engine,
admits it again, runs the models and records alerts and receipts (live_capture.capture_frame, capture_crops).

The hand-over, on the broker's Redis under the broker's key prefix:
- the frame's bytes go in a list of their own (`capture:frame:<job>`), never in the Celery message, and never to disk
  (Redis here keeps nothing on disk); the Celery message on the `capture` queue names the job only;
- a worker claims the frame by reading and deleting its list in one transaction (`take`); the web request, when no
  worker has claimed it within CAPTURE_QUEUE_SECONDS, withdraws it the same way: whichever deletes the list owns the
  frame, so a 503 for a frame no worker took means nothing was recorded, and a worker that comes later finds nothing;
- the worker answers in `capture:reply:<job>` (the capture's id and counts, or the refusal's reason: nothing of a
  face), which the web request pops, or which expires CAPTURE_RESULT_SECONDS later.

Without a broker (CELERY_TASK_ALWAYS_EAGER: `make run` without Redis, and the tests) the process that admitted the frame
matches it too, as every Celery task then runs in-process; so does a caller inside a transaction (the demo's seed,
posting frames through the API in-process for deployments it has not committed yet), which a worker could not see.
"""

import contextlib
import json
import logging
import uuid

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.deployments.models import Asset
from govern.errors import DATABASE_UNAVAILABLE, Unavailable, database_refusal_message

from . import live_capture

logger = logging.getLogger(__name__)

TASK, QUEUE = "apps.matching.tasks.capture", "capture"  # the queue as routed by CELERY_TASK_ROUTES
FRAME, CROPS = "frame", "crops"
# One attempt to publish, as the outbox makes (apps/outbox): the camera's request is the retry.
PUBLISH_RETRY_POLICY = {"max_retries": 0, "interval_start": 0, "interval_step": 0, "interval_max": 0}
UNAVAILABLE = (
    "503 when no capture worker took the frame within CAPTURE_QUEUE_SECONDS (nothing was recorded: send it again), "
    "when a worker took it but did not answer within CAPTURE_RESULT_SECONDS (not known whether it was recorded), "
    "or while the database or the capture queue is out of reach; with Retry-After."
)

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    """This process's client of the broker's Redis (its own connection pool, made after gunicorn's fork)."""
    global _client
    if _client is None:
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        _client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL,
            socket_connect_timeout=options["socket_connect_timeout"],
            # above the longest wait for an answer (BLPOP blocks that long before Redis says "nothing")
            socket_timeout=max(settings.CAPTURE_QUEUE_SECONDS, settings.CAPTURE_RESULT_SECONDS)
            + options["socket_timeout"],
        )
    return _client


def _app():
    """Govern's Celery app (imported late: the tasks module imports this one)."""
    from govern.celery import app

    return app


def _keys(job: str) -> tuple[str, str]:
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    return f"{prefix}capture:frame:{job}", f"{prefix}capture:reply:{job}"


def submit_frame(camera: live_capture.Camera, frame: bytes, *, deployment_id: int | None = None):
    """Admit a camera's frame here and have a capture worker match it; its CaptureResult, CaptureRefused (logged, as
    before: nothing was sent to a worker when this process refused it) or Unavailable."""
    now = timezone.now()
    asset, deployment = live_capture.admit(camera, deployment_id, now)
    frame = live_capture.check_frame(asset, deployment, frame)
    return _hand_over(FRAME, asset.pk, deployment.pk, [frame], now)


def submit_crops(camera: live_capture.Camera, crops: list[bytes], *, deployment_id: int | None = None):
    """Admit the face crops a van detected itself here and have a capture worker match them (as submit_frame)."""
    now = timezone.now()
    asset, deployment = live_capture.admit(camera, deployment_id, now)
    crops = live_capture.check_crops(asset, deployment, crops)
    return _hand_over(CROPS, asset.pk, deployment.pk, crops, now)


def process(job: dict, images: list[bytes]):
    """Match an admitted job's images in this process (the capture worker's work, or every process's without a
    broker): admitted again, the models run, alerts and receipts recorded."""
    asset, now = Asset(pk=job["asset"]), parse_datetime(job["received_at"])
    if job["kind"] == FRAME:
        return live_capture.capture_frame(asset, images[0], deployment_id=job["deployment"], now=now)
    return live_capture.capture_crops(asset, images, deployment_id=job["deployment"], now=now)


def _hand_over(kind: str, asset_id: int, deployment_id: int, images: list[bytes], now):
    job = {"kind": kind, "asset": asset_id, "deployment": deployment_id, "received_at": now.isoformat()}
    if settings.CELERY_TASK_ALWAYS_EAGER or connection.in_atomic_block:
        # Without a broker, or from inside a transaction (the demo's seed films deployments it has not committed): a
        # worker could see nothing the transaction wrote, and would wait on its locks.
        return process(job, images)
    job_id = uuid.uuid4().hex
    frames, reply = _keys(job_id)
    waits = settings.CAPTURE_QUEUE_SECONDS + settings.CAPTURE_RESULT_SECONDS
    client = _redis()
    try:
        # The list expires on its own only if this process dies before withdrawing it.
        client.pipeline(transaction=True).rpush(frames, *images).expire(frames, waits).execute()
        _app().send_task(TASK, args=[job_id, job], expires=waits, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception as exc:  # whatever Redis's or kombu's client raises: the frame reached no worker
        _withdraw_quietly(client, frames)
        raise Unavailable(f"The capture queue is out of reach ({type(exc).__name__}): nothing was recorded.") from exc
    try:
        answer = _await(client, job_id, frames, reply)
    except redis.RedisError as exc:
        raise Unavailable(
            f"The capture queue went out of reach while the frame waited ({type(exc).__name__}): whether it was "
            "recorded is not known (the capture list shows it if it was)."
        ) from exc
    return _result(json.loads(answer))


def _await(client: redis.Redis, job_id: str, frames: str, reply: str) -> bytes:
    """The worker's answer; Unavailable if no worker took the frame in time (then it is withdrawn) or, once taken,
    did not answer in time."""
    answer = client.blpop([reply], timeout=settings.CAPTURE_QUEUE_SECONDS)
    if answer is not None:
        return answer[1]
    if _claim(client, frames) is not None:
        logger.warning("No capture worker took job %s in %s s: withdrawn", job_id, settings.CAPTURE_QUEUE_SECONDS)
        raise Unavailable(
            f"No capture worker took the frame within {settings.CAPTURE_QUEUE_SECONDS} s: it was withdrawn and nothing "
            "was recorded. Send it again."
        )
    answer = client.blpop([reply], timeout=settings.CAPTURE_RESULT_SECONDS)
    if answer is None:
        raise Unavailable(
            f"A capture worker took the frame but did not answer within {settings.CAPTURE_RESULT_SECONDS} s: whether "
            "it was recorded is not known (the capture list shows it if it was)."
        )
    return answer[1]


def _claim(client: redis.Redis, frames: str) -> list[bytes] | None:
    """The job's images, read and deleted in one transaction; None when another already claimed them."""
    images, deleted = client.pipeline(transaction=True).lrange(frames, 0, -1).delete(frames).execute()
    return images if deleted else None


def _withdraw_quietly(client: redis.Redis, frames: str) -> None:
    with contextlib.suppress(redis.RedisError):  # otherwise it expires by itself
        client.delete(frames)


def _result(answer: dict):
    if "refused" in answer:
        raise live_capture.CaptureRefused(answer["refused"])
    if "unavailable" in answer:
        raise Unavailable(answer["unavailable"])
    if "failed" in answer:
        raise RuntimeError(f"The capture worker failed on the frame: {answer['failed']}")
    return live_capture.CaptureResult(answer["capture"], answer["faces"], answer["alerts"], answer["receipts"])


def take_and_process(job_id: str, job: dict) -> str:
    """The capture worker's side: claim the job's images (none if the web request withdrew them), match them, and
    answer. Returns what became of the job, for the worker's log (never a face's data)."""
    client = _redis()
    frames, reply = _keys(job_id)
    images = _claim(client, frames)
    if images is None:
        return "withdrawn"  # the web request answered 503 already; nothing is recorded
    try:
        result = process(job, images)
        answer = {"capture": result.capture_id, "faces": result.faces, "alerts": result.alerts}
        answer["receipts"] = result.receipts
    except live_capture.CaptureRefused as exc:
        answer = {"refused": str(exc)}
    except DATABASE_UNAVAILABLE as exc:
        logger.warning("A capture job's database work failed, answered 503: %s", exc)
        answer = {"unavailable": database_refusal_message(exc)}
    except Exception as exc:
        logger.exception("A capture job failed")
        answer = {"failed": type(exc).__name__}
    finally:
        del images
    expiry = settings.CAPTURE_RESULT_SECONDS
    client.pipeline(transaction=True).rpush(reply, json.dumps(answer)).expire(reply, expiry).execute()
    return next(iter(answer)) if "capture" not in answer else "recorded"
