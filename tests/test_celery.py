"""Celery: Redis as broker, a real worker signs checkpoints, and tasks enqueue only after commit."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import transaction

from apps.audit import services
from apps.audit.models import Checkpoint
from tests.processes import stop, worker_environment

ROOT = Path(__file__).resolve().parent.parent
BROKER = "redis://127.0.0.1:6379/15"


@pytest.mark.django_db
def test_a_task_queued_in_a_rolled_back_transaction_never_runs():
    from apps.audit.tasks import sign_checkpoint

    services.record("account.update", None, None)
    with pytest.raises(RuntimeError), transaction.atomic():
        sign_checkpoint.delay_on_commit()
        raise RuntimeError("the change failed")
    assert not Checkpoint.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_signs_a_checkpoint():
    import redis
    from celery import Celery

    redis.Redis.from_url(BROKER).flushdb()
    services.record("account.update", None, None, data={"queued": True})
    environment = worker_environment(BROKER)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "govern", "worker", "-Q", "audit", "--pool", "solo",
         "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        client = Celery(broker=BROKER)
        client.send_task("apps.audit.tasks.sign_checkpoint", queue="audit")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not Checkpoint.objects.exists():
            assert worker.poll() is None, worker.stdout.read()
            time.sleep(0.5)
        checkpoint = Checkpoint.objects.get()
        assert checkpoint.tree_size == 1
    finally:
        stop(worker)
        client.close()
