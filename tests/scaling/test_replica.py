"""A streaming read replica and the database router (issue 8, part 7).

Two throwaway clusters from tests/pgcluster.py: a primary, and a replica made with `pg_basebackup -R` that streams
from it. Govern is migrated on the primary and the schema reaches the replica by replication. A Govern process
configured with both (tests/scaling/replica_probe.py) then shows the router: marked reads (the public records, the
oversight dashboard) come from the replica, which is in recovery; reads inside a transaction and every write go to
the primary; the replica refuses writes.
"""

import json
import subprocess
import sys
import time

import pytest

from tests.scaling.conftest import ROOT, govern_environment, manage

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def replica(primary):
    follower = primary.replica()
    yield follower
    follower.destroy()


def test_marked_reads_come_from_the_streaming_replica_and_writes_go_to_the_primary(primary, replica, tmp_path):
    assert replica.scalar("SELECT pg_is_in_recovery()") is True
    assert primary.scalar("SELECT pg_is_in_recovery()") is False

    # The schema is created on the primary only and streams to the replica.
    environment = govern_environment(tmp_path, primary.url())
    began = time.monotonic()
    manage(environment, "migrate", "--noinput", "-v", "0")
    migrated = time.monotonic() - began
    waited = replica.wait_replayed(primary)
    migrations = "SELECT count(*) FROM django_migrations"
    assert replica.scalar(migrations) == primary.scalar(migrations) > 30
    assert replica.scalar("SELECT extversion FROM pg_extension WHERE extname = 'vector'") is not None
    assert replica.scalar("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'") == 1

    probe = subprocess.run(
        [sys.executable, "-m", "tests.scaling.replica_probe"], cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={**environment, "DATABASE_REPLICA_URL": replica.url(), "ALLOWED_HOSTS": "testserver,localhost"},
        check=False,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout.strip().splitlines()[-1])

    assert found["aliases"] == ["default", "replica"] and found["routers"] == ["govern.db_router.ReplicaRouter"]
    # Marked reads go to the replica, which is in recovery; unmarked reads, reads in a transaction and writes do not.
    assert found["marked_read"] == "replica" and found["marked_read_in_recovery"] is True
    assert found["unmarked_read"] == found["marked_read_in_transaction"] == found["marked_write"] == "default"
    assert found["default_in_recovery"] is False
    # A row written on the primary reaches a marked read only once the replica has replayed it.
    assert found["seen_on_primary"] and not found["seen_on_replica_while_paused"]
    assert found["seen_on_replica_after_replay"]
    # A service run inside a marked block wrote on the primary; the replica refuses writes of its own.
    assert found["written_while_marked_db"] == "default" and found["written_while_marked_on_primary"]
    assert "read-only transaction" in found["replica_refused_write"]
    # The pages: the public records and the oversight dashboard read their data from the replica; the primary
    # served only the session and the signed-in user with their roles (read by middleware, before the view).
    data = ("deployments_", "matching_", "audit_", "oversight_", "watchlists_")
    for page in ("public", "dashboard"):
        assert found[page]["status"] == 200
        assert not [table for table in found[page]["primary"] if table.startswith(data)], found[page]
    assert "deployments_deployment" in found["public"]["replica"]
    assert {"deployments_deployment", "audit_checkpoint"} <= set(found["dashboard"]["replica"]), found["dashboard"]
    # A page that is not marked reads from the primary only.
    assert found["home"]["status"] == 200 and found["home"]["replica"] == []

    print(
        f"\nReplica figures: migrate on the primary {migrated:.1f} s, replica caught up {waited * 1000:.0f} ms later; "
        f"commit-to-visible lag on marked reads {found['lag_ms']} ms"
    )


def test_without_a_replica_the_marks_change_nothing():
    from django.conf import settings
    from django.db import connections

    from apps.deployments.models import Deployment
    from govern.db_router import ReplicaRouter, reading_from_replica, replica_in_use

    assert "replica" not in connections.settings and not getattr(settings, "DATABASE_ROUTERS", [])
    with reading_from_replica():
        assert not replica_in_use()
        assert ReplicaRouter().db_for_read(Deployment) == "default"
