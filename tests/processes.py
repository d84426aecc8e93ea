"""Processes a test starts beside itself (a Celery worker, a server, a child that is killed): the test database's URL
and a worker's environment for them, and how they are stopped."""

import os
import subprocess
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def database_url() -> str:
    """The URL of the test database this process is connected to, for a child process to use the same one."""
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    if db["HOST"].startswith("/"):
        return f"postgresql://{credentials}@/{db['NAME']}?host={db['HOST']}"
    return f"postgresql://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_environment(broker_url: str, **overrides: str) -> dict:
    """A real Celery worker's environment: production settings, the test run's keys (it reads what the test wrote),
    the committed test database and this broker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "govern.settings.base",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "localhost",
        "AUDIT_SIGNING_KEY_FILE": str(settings.AUDIT_SIGNING_KEY_FILE),
        "IMAGE_ENCRYPTION_KEY_FILE": str(settings.IMAGE_ENCRYPTION_KEY_FILE),
        "RECEIPT_KEY_FILE": str(settings.RECEIPT_KEY_FILE),
        "DATA_KEY_DIR": str(settings.DATA_KEY_DIR),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        # the broker keys this test process writes under (govern/embedded_db.broker_key_prefix), so the worker sees
        # the tasks it sends
        "CELERY_KEY_PREFIX": settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", ""),
        **overrides,
    }


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """Ask the process to end; kill it if it has not within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
