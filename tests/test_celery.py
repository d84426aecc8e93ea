"""Celery: Redis as broker, a real worker signs checkpoints, and tasks enqueue only after commit."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
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
        client = Celery(broker=BROKER, broker_transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS)
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


def test_two_instances_on_one_redis_never_take_each_others_tasks(tmp_path, settings):
    """Each instance's broker keys carry its own prefix (here: two checkouts' data folders), so a worker of one never
    sees a task the other queued; this instance's settings carry the prefix of its own data folder."""
    import redis
    from celery import Celery

    from govern import embedded_db

    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] == embedded_db.broker_key_prefix(
        settings.EMBEDDED_PGDATA
    )
    first, second = (embedded_db.broker_key_prefix(tmp_path / name) for name in ("one", "two"))
    assert first != second and first == embedded_db.broker_key_prefix(tmp_path / "one")
    redis.Redis.from_url(BROKER).flushdb()
    apps = [Celery(broker=BROKER, broker_transport_options={"global_keyprefix": prefix}) for prefix in (first, second)]
    try:
        apps[0].send_task("apps.audit.tasks.sign_checkpoint", queue="audit")
        broker = redis.Redis.from_url(BROKER)
        assert broker.llen(f"{first}audit") == 1
        assert not broker.exists(f"{second}audit") and not broker.exists("audit")
    finally:
        for app in apps:
            app.close()
        redis.Redis.from_url(BROKER).flushdb()
