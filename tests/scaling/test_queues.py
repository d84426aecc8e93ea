"""Two Celery workers on two sets of queues (issue 8, part 7): each task is consumed by the worker of its queue.

One worker takes only `embed` (in production, a GPU host); the other takes `audit` and `default`. They share a
private Redis and the test database. Tasks are sent by name with the routing table of the settings
(CELERY_TASK_ROUTES), as Govern's own code sends them, and each worker's log shows which tasks it ran.
"""

import datetime
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from apps.audit import services as audit
from apps.audit.models import Checkpoint, Event
from apps.watchlists.choices import LegalBasis
from apps.watchlists.services import custody
from tests.processes import database_url
from tests.scaling.conftest import ROOT, govern_environment
from tests.watchlist_fixtures import make_jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKERS = {"embed": "embed", "audit": "audit,default"}
EMBED, CHECKPOINT, SWEEP = (
    "apps.matching.tasks.embed_custody_image",
    "apps.audit.tasks.sign_checkpoint",
    "apps.watchlists.tasks.sweep",
)


def _start_worker(name: str, queues: str, environment: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "govern", "worker", "-Q", queues, "-n", f"{name}@%h", "--pool", "solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO", "--logfile", str(log)],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _wait_until_ready(log: Path, worker: subprocess.Popen, timeout: float = 120) -> None:
    began = time.monotonic()
    while not (log.exists() and "ready." in log.read_text()):
        assert worker.poll() is None, log.read_text() if log.exists() else "the worker exited"
        assert time.monotonic() - began < timeout, f"the worker is not ready after {timeout} s"
        time.sleep(0.1)


def test_each_task_is_consumed_by_the_worker_of_its_queue(actors, redis_url, tmp_path):
    from celery import Celery

    subject = custody.create_subject(actors.compiler, family_name="Example", given_names="Adam",
                                        date_of_birth=datetime.date(1990, 5, 17), pnc_id="90/123456A")  # fmt: skip
    image = custody.upload_image(actors.compiler, subject, make_jpeg(), captured_on=datetime.date(2026, 3, 1),
                                    source_system="Custody suite A", legal_basis=LegalBasis.PACE_CUSTODY)  # fmt: skip
    audit.record("account.update", None, None, data={"queued": True})
    refused_before = Event.objects.filter(action="custody_template.refused").count()

    # The workers decrypt the image the test uploaded: they use the test run's key files.
    environment = govern_environment(
        tmp_path, database_url(), CELERY_BROKER_URL=redis_url,
        AUDIT_SIGNING_KEY_FILE=str(settings.AUDIT_SIGNING_KEY_FILE),
        IMAGE_ENCRYPTION_KEY_FILE=str(settings.IMAGE_ENCRYPTION_KEY_FILE),
        RECEIPT_KEY_FILE=str(settings.RECEIPT_KEY_FILE), DATA_KEY_DIR=str(settings.DATA_KEY_DIR),
    )  # fmt: skip
    logs = {name: tmp_path / f"{name}.log" for name in WORKERS}
    workers = {name: _start_worker(name, queues, environment, logs[name]) for name, queues in WORKERS.items()}
    client = Celery(broker=redis_url)
    client.conf.task_routes = settings.CELERY_TASK_ROUTES
    client.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    routed = {name: client.amqp.router.route({}, name)["queue"].name for name in (EMBED, CHECKPOINT, SWEEP)}
    assert routed == {EMBED: "embed", CHECKPOINT: "audit", SWEEP: "default"}  # the settings' routing table
    try:
        for name, worker in workers.items():
            _wait_until_ready(logs[name], worker)
        sent_at = time.monotonic()
        sent = {
            "embed": client.send_task(EMBED, args=[image.pk]),
            "audit": client.send_task(CHECKPOINT),
            "default": client.send_task(SWEEP),
        }
        consumer = {"embed": "embed", "audit": "audit", "default": "audit"}
        took = {}
        while len(took) < len(sent):
            for queue, result in sent.items():
                if queue not in took and re.search(rf"\[{result.id}\] succeeded", logs[consumer[queue]].read_text()):
                    took[queue] = round(time.monotonic() - sent_at, 2)
            assert all(worker.poll() is None for worker in workers.values()), {
                n: p.read_text() for n, p in logs.items()
            }
            assert time.monotonic() - sent_at < 120, {name: path.read_text() for name, path in logs.items()}
            time.sleep(0.05)
        for queue, result in sent.items():
            other = "audit" if consumer[queue] == "embed" else "embed"
            assert result.id not in logs[other].read_text(), f"the {other} worker saw the {queue} task"
    finally:
        for worker in workers.values():
            worker.terminate()
        for worker in workers.values():
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        client.close()

    assert Checkpoint.objects.count() == 1  # signed by the audit worker
    # The embed worker ran the real enrolment: the drawing has no face, so it was refused and logged once more.
    assert Event.objects.filter(action="custody_template.refused").count() == refused_before + 1
    print("\nQueue figures, seconds from sending to the worker's 'succeeded' (both workers already up):", took)
