"""Matching work on Celery: enrolment runs on the `embed` queue (GPU hosts, where there are any), live capture on the
`capture` queue (a worker beside the cameras, holding the engine and the lists' templates)."""

import logging

from celery import shared_task, signals

from apps.outbox import services as outbox

from . import custody_graph
from .choices import Biometric
from .engine import get_engine
from .services import capture_queue, custody_erasure, deletion_evidence, enrolment, retrospective


@shared_task(name="apps.matching.tasks.embed_watchlist", acks_late=True)
def embed_watchlist(watchlist_id: int, approved_hash: str) -> int:
    """Enrol an approved watchlist version's templates (idempotent: re-enrolling replaces them)."""
    return enrolment.enrol_watchlist(watchlist_id, approved_hash).enrolled


@shared_task(name=deletion_evidence.VACUUM_TASK)
def vacuum_biometrics(kind: str) -> None:
    """VACUUM the table of a kind of biometric after deletions, and log the evidence it covers."""
    deletion_evidence.vacuum(kind)


@shared_task(name="apps.matching.tasks.vacuum_templates")
def vacuum_templates(watchlist_id: int | None = None) -> None:
    """What purges enqueued before deletion evidence was general (an outbox may still hold one after an upgrade)."""
    deletion_evidence.vacuum(Biometric.WATCHLIST_TEMPLATE)


@shared_task(name=custody_erasure.GRAPH_TASK, acks_late=True)
def unlink_erased_from_graph() -> int:
    """Take erased custody templates out of the graph files' links (after an erasure; idempotent)."""
    return custody_graph.unlink_in_files()


@shared_task(name="apps.matching.tasks.embed_custody_image", acks_late=True)
def embed_custody_image(image_id: int) -> bool:
    """Enrol one custody image for retrospective search (idempotent)."""
    return retrospective.enrol_custody_image(image_id)


@shared_task(name="apps.matching.tasks.run_search", acks_late=True)
def run_search(request_id: int) -> int:
    """Run a retrospective search (a redelivery skips the stills already done)."""
    return retrospective.run_search(request_id).processed


def enrol_custody_on_upload(sender, image_id: int, **_kwargs) -> None:
    """A custody image is being stored: enrol it for retrospective search once that commits."""
    outbox.enqueue(embed_custody_image.name, image_id)


def purge_on_purging(sender, watchlist_id: int, **_kwargs) -> None:
    """A watchlist is being purged: its templates go in the same transaction."""
    enrolment.purge_templates(watchlist_id)


def enrol_on_approval(sender, watchlist_id: int, approved_hash: str, **_kwargs) -> None:
    """A watchlist is being approved: enrol it once that commits."""
    outbox.enqueue(embed_watchlist.name, watchlist_id, approved_hash)


@shared_task(name=capture_queue.TASK, acks_late=False, ignore_result=True)
def capture(job_id: str, job: dict) -> str:
    """Match a frame (or crops) the web process admitted, on a capture worker, the only process that loads the face
    engine; acknowledged when taken, since a redelivery would find the frame gone (capture_queue)."""
    return capture_queue.take_and_process(job_id, job)


logger = logging.getLogger(__name__)


@signals.worker_ready.connect
def load_engine_for_capture(sender=None, **_kwargs) -> None:
    """A worker of the `capture` queue loads the face engine as it starts, before it takes a frame: a frame then waits
    in the queue, unclaimed (and withdrawn with nothing recorded if that takes too long), rather than in the worker
    while the engine loads (answered "not known whether recorded")."""
    queues = getattr(getattr(sender, "app", None), "amqp", None)
    if queues is not None and capture_queue.QUEUE in (queues.queues.consume_from or {}):
        engine = get_engine()
        logger.info("Capture worker: face engine %s loaded", engine.name)
