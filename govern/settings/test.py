"""Settings for the test suite: a real PostgreSQL with pgvector, fixed secrets, tasks run in-process."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

_BASE = Path(__file__).resolve().parent.parent.parent
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-that-is-long-enough-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("AUDIT_SIGNING_KEY_FILE", str(_BASE / "var" / "test" / "audit-signing-key.pem"))
os.environ.setdefault("IMAGE_ENCRYPTION_KEY_FILE", str(_BASE / "var" / "test" / "image-encryption.key"))
os.environ.setdefault("RECEIPT_KEY_FILE", str(_BASE / "var" / "test" / "receipt-hmac.key"))
# A data key store of this run's own (and its subprocesses', which inherit the variable): test databases roll back,
# their keys' files stay, and two runs on one machine must not share them.
if "DATA_KEY_DIR" not in os.environ:
    os.environ["DATA_KEY_DIR"] = tempfile.mkdtemp(prefix="govern-test-data-keys-")
    atexit.register(shutil.rmtree, os.environ["DATA_KEY_DIR"], ignore_errors=True)
os.environ.setdefault("FACE_ALLOW_UNCALIBRATED", "true")
os.environ.setdefault("FACE_ENGINE", "facenet")
os.environ.pop("CELERY_BROKER_URL", None)
os.environ.pop("DATABASE_REPLICA_URL", None)  # one database here; tests/scaling runs a real replica in subprocesses

from .base import *  # noqa: E402,F403

AUDIT_SIGNING_KEY_GENERATE = True
IMAGE_ENCRYPTION_KEY_GENERATE = True
RECEIPT_KEY_GENERATE = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; production keeps the default
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False  # the test client and the live server speak plain HTTP
SECURE_HSTS_SECONDS = 0
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
CUSTODY_GRAPH_DIR = _BASE / "var" / "test" / "custody-graph"  # the custody tests give each test its own
STATIC_ROOT = _BASE / "var" / "test" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405  (the live server's request threads must not keep connections)
# A separate test database name lets two test runs share the embedded server (e.g. a developer and a helper).
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("GOVERN_TEST_DATABASE", "test_govern")}  # noqa: F405
