"""A base backup taken before a deletion, restored after it: its copy of the image (or of a closed search's still)
cannot be read (issue 26, 5).

Two throwaway clusters from tests/pgcluster.py. Govern runs on the first as a deployed process does (its own key
files, tests/scaling/conftest.py); `pg_basebackup` copies the cluster while the image is stored. The subject's data
key is then destroyed, and the backup is restored as a separate cluster and read by a Govern process with the live
key ring and the live data key store. The backup holds the image and the data key's row as they were (live), but the
key itself was never in the database: its file was shredded from the store, so the image cannot be read, and no
rotation of the ring is needed. A copy of the key store taken before the deletion does open it: docs/security.md says
why the store is never backed up with the database.
"""

import json
import shutil
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


def test_a_base_backup_from_before_a_deletion_cannot_show_the_image_with_the_live_key_store(primary, tmp_path):
    environment = govern_environment(tmp_path, primary.url())
    manage(environment, "migrate", "--noinput", "-v", "0")
    stored = _probe(environment, "store")
    ring_before = sorted(path.name for path in (tmp_path / "keys").iterdir())
    key_file = tmp_path / "keys" / "data-keys" / stored["key"][:2] / f"{stored['key']}.key"
    assert key_file.is_file()
    key_store_copy = tmp_path / "key-store-copy"  # what a backup of the key store, taken with the database, would hold
    shutil.copytree(tmp_path / "keys" / "data-keys", key_store_copy)
    backup = _base_backup(primary)
    try:
        destroyed = _probe(environment, "destroy", stored["image"])
        assert destroyed["destroyed"] == stored["key"] and not key_file.exists()
        live = _probe(environment, "read", stored["image"])
        assert not live["readable"] and "was destroyed on" in live["error"]

        backup.start()
        restored = {**environment, "DATABASE_URL": backup.url()}
        with backup.connect() as conn:  # the restored copy holds the image's bytes, and its key's row as still live
            blob = conn.execute("SELECT ciphertext FROM watchlists_custodyimage WHERE id = %s", [stored["image"]])
            assert bytes(blob.fetchone()[0])[:4] == b"GVD1"
            row = conn.execute("SELECT destroyed_at FROM audit_datakey WHERE id = %s", [stored["key"]])
            assert row.fetchone() == (None,)
        after = _probe(restored, "read", stored["image"])
        assert not after["readable"], after
        assert "DataKeyDestroyed" in after["error"] and "is not in the key store" in after["error"], after
        # No rotation was needed: the key ring is as it was when the image was stored.
        assert sorted(path.name for path in (tmp_path / "keys").iterdir()) == ring_before

        # The same restored database with a key store copied before the deletion does show the image: the store's
        # copies, not the database's, decide, which is why the store is never backed up with the database.
        with_old_store = {**restored, "DATA_KEY_DIR": str(key_store_copy)}
        assert _probe(with_old_store, "read", stored["image"]) == {"readable": True, "sha256": stored["sha256"]}
    finally:
        backup.destroy()


def test_a_base_backup_from_before_a_search_closed_cannot_show_its_still(primary, tmp_path):
    """The same for a retrospective search's still: closing the search destroyed the search's own data key."""
    environment = govern_environment(tmp_path, primary.url())
    manage(environment, "migrate", "--noinput", "-v", "0")
    stored = _probe(environment, "search")
    assert stored["key"] and _probe(environment, "read-still", stored["search"])["readable"]
    key_file = tmp_path / "keys" / "data-keys" / stored["key"][:2] / f"{stored['key']}.key"
    backup = _base_backup(primary)
    try:
        assert _probe(environment, "close", stored["search"]) == {"destroyed": stored["key"]}
        assert not key_file.exists()
        assert _probe(environment, "read-still", stored["search"]) == {"readable": False, "error": "deleted"}

        backup.start()
        restored = {**environment, "DATABASE_URL": backup.url()}
        with backup.connect() as conn:  # the restored copy holds the still, and its key's row as still live
            blob = conn.execute("SELECT ciphertext FROM matching_probe WHERE request_id = %s", [stored["search"]])
            assert bytes(blob.fetchone()[0])[:4] == b"GVD1"
            row = conn.execute("SELECT destroyed_at FROM audit_datakey WHERE id = %s", [stored["key"]])
            assert row.fetchone() == (None,)
        after = _probe(restored, "read-still", stored["search"])
        assert not after["readable"], after
        assert "DataKeyDestroyed" in after["error"] and "is not in the key store" in after["error"], after
    finally:
        backup.destroy()
