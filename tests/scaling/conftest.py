"""What the scaling tests share: throwaway PostgreSQL clusters, a private Redis, and Govern processes pointed at them.

Every process here (server, worker, management command) gets its environment from `govern_environment`: only what
it is given, never the test run's own settings, so it behaves as a deployed Govern does.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pgcluster import Cluster, free_port
from tests.processes import stop

ROOT = Path(__file__).resolve().parent.parent.parent
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "USER", "LOGNAME")


def write_keys(folder: Path) -> dict:
    """Fresh key files (audit signing, image encryption, receipt HMAC) for a production-like Govern process."""
    import secrets

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder.mkdir(parents=True, exist_ok=True)
    signing = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    files = {
        "AUDIT_SIGNING_KEY_FILE": (folder / "audit-signing-key.pem", signing),
        "IMAGE_ENCRYPTION_KEY_FILE": (folder / "image-encryption.key", secrets.token_bytes(32)),
        "RECEIPT_KEY_FILE": (folder / "receipt-hmac.key", secrets.token_bytes(32)),
    }
    for path, content in files.values():
        path.write_bytes(content)
        path.chmod(0o600)
    return {name: str(path) for name, (path, _content) in files.items()}


def govern_environment(var_dir: Path, database_url: str, **overrides: str) -> dict:
    """The environment of a production-like Govern process (DEBUG off, its own keys) on the given database."""
    environment = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    keys = var_dir / "keys"
    environment.update(
        write_keys(keys) if not keys.exists() else {
            "AUDIT_SIGNING_KEY_FILE": str(keys / "audit-signing-key.pem"),
            "IMAGE_ENCRYPTION_KEY_FILE": str(keys / "image-encryption.key"),
            "RECEIPT_KEY_FILE": str(keys / "receipt-hmac.key"),
        }
    )  # fmt: skip
    environment.update(
        {
            # The base settings with plain static files: the production storage needs `collectstatic` first.
            "DJANGO_SETTINGS_MODULE": "tests.scaling.server_settings",
            "PYTHONPATH": str(ROOT),
            "DEBUG": "false",
            "SECRET_KEY": "scaling-test-secret-key-that-is-long-enough-0123456789",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "GOVERN_VAR_DIR": str(var_dir),
            "DATABASE_URL": database_url,
            "FACE_ALLOW_UNCALIBRATED": "true",
            "FACE_THREADS": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    environment.update(overrides)
    return environment


def manage(environment: dict, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """`manage.py ARGS` in a subprocess; fails the test with the command's output if it fails."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def primary():
    """A new PostgreSQL cluster with an empty `govern` database; always stopped and removed afterwards."""
    cluster = Cluster.primary()
    yield cluster
    cluster.destroy()


def _redis_server() -> str:
    found = shutil.which("redis-server")
    if found is None:
        # A clean CI machine may lack it: install Debian's package, as `make browser` installs chromium.
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(
            [*sudo, "apt-get", "install", "-y", "-qq", "redis-server"], check=True, capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )  # fmt: skip
        found = shutil.which("redis-server")
    assert found, "redis-server could not be installed"
    return found


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A private Redis on a free port, no persistence: a broker no other test or process shares."""
    import redis

    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder), "--daemonize", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url, socket_timeout=1).ping()
                break
            except redis.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, "the private redis-server did not start"
                time.sleep(0.05)
        yield url
    finally:
        stop(server, timeout=10)
