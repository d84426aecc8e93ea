"""Celery: Redis as broker, a real worker signs checkpoints, and tasks enqueue only after commit."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection, transaction

from apps.audit import services
from apps.audit.models import Checkpoint

ROOT = Path(__file__).resolve().parent.parent
BROKER = "redis://127.0.0.1:6379/15"


def _test_database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    if db["HOST"].startswith("/"):
        return f"postgresql://{credentials}@/{db['NAME']}?host={db['HOST']}"
    return f"postgresql://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


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
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "govern.settings.base",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "localhost",
        "AUDIT_SIGNING_KEY_FILE": str(settings.AUDIT_SIGNING_KEY_FILE),
        "IMAGE_ENCRYPTION_KEY_FILE": str(settings.IMAGE_ENCRYPTION_KEY_FILE),
        "RECEIPT_KEY_FILE": str(settings.RECEIPT_KEY_FILE),
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": BROKER,
    }
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
        worker.terminate()
        worker.wait(timeout=30)
        client.close()
