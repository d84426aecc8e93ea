"""A base backup taken before a deletion, restored after it: its copy of the image cannot be read (issue 26, 5).

Two throwaway clusters from tests/pgcluster.py. Govern runs on the first as a deployed process does (its own key
files, tests/scaling/conftest.py); `pg_basebackup` copies the cluster while the image is stored. The subject's data
key is then destroyed, and the backup is restored as a separate cluster and read by a Govern process with the live
key ring. The backup holds the data key's row as it was, wrapped under the ring key of its day: so the copy stays
readable until `rotate_secret image` retires that ring key, and not after. docs/security.md states the window.
"""

import json
import subprocess
import sys

import pytest

from tests.pgcluster import Cluster, _new_root, free_port
from tests.scaling.conftest import ROOT, govern_environment, manage

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def primary():
    """A new PostgreSQL cluster with an empty `govern` database; always stopped and removed afterwards."""
    cluster = Cluster.primary()
    yield cluster
    cluster.destroy()


def _probe(environment: dict, *args) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tests.security.shred_probe", *map(str, args)], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _base_backup(primary: Cluster) -> Cluster:
    """A base backup of the primary (with the WAL to make it consistent), not started: a copy on the shelf."""
    backup = Cluster(_new_root("govern-pg-backup-"), free_port())
    backup._run(
        "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-D", backup.data,
        "-X", "stream", "-c", "fast", "--no-sync",
    )  # fmt: skip
    return backup


def test_a_base_backup_from_before_a_deletion_cannot_show_the_image_once_the_ring_key_is_retired(primary, tmp_path):
    environment = govern_environment(tmp_path, primary.url())
    manage(environment, "migrate", "--noinput", "-v", "0")
    stored = _probe(environment, "store")
    backup = _base_backup(primary)
    try:
        destroyed = _probe(environment, "destroy", stored["image"])
        assert destroyed["destroyed"] == stored["key"]
        live = _probe(environment, "read", stored["image"])
        assert not live["readable"] and "DataKeyDestroyed" in live["error"]

        # Restored before the ring key is retired, the backup still shows the image to whoever holds the key ring:
        # its copy of the data key is wrapped under a ring key the ring still has. This is the window.
        backup.start()
        restored = {**environment, "DATABASE_URL": backup.url()}
        assert _probe(restored, "read", stored["image"]) == {"readable": True, "sha256": stored["sha256"]}
        backup.stop()

        # The ring rotation re-wraps every live data key and destroys the old ring key: the destroyed data key is
        # not re-wrapped (it has no bytes left), so the backup's copy of it is under a key that exists nowhere.
        rotated = manage(environment, "rotate_secret", "image", "--reason", "Close the backup window")
        assert "destroyed retired key" in rotated.stdout
        backup.start()
        after = _probe(restored, "read", stored["image"])
        assert not after["readable"] and "the key ring does not hold it" in after["error"], after
        with backup.connect() as conn:  # the restored copy does hold the image's bytes and its wrapped key
            blob = conn.execute("SELECT ciphertext FROM watchlists_custodyimage WHERE id = %s", [stored["image"]])
            assert bytes(blob.fetchone()[0])[:4] == b"GVD1"
            wrapped = conn.execute("SELECT key_ciphertext FROM audit_datakey WHERE id = %s", [stored["key"]])
            assert bytes(wrapped.fetchone()[0])[:4] == b"GVI1"
    finally:
        backup.destroy()
