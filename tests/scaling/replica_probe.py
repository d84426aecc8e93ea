"""Run inside a Govern process configured with a primary and a replica; print what the router did, as JSON.

`python -m tests.scaling.replica_probe` with DATABASE_URL (the primary) and DATABASE_REPLICA_URL (its streaming
replica) set. tests/scaling/test_replica.py reads the output and makes the assertions.
"""

import json
import re
import time


def _in_recovery(alias: str) -> bool:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return cursor.fetchone()[0]


def _replayed(primary_lsn: str) -> bool:
    from django.db import connections

    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [primary_lsn])
        return cursor.fetchone()[0]


def _primary_lsn() -> str:
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


TABLE = re.compile(r'"((?:accounts|audit|deployments|matching|oversight|watchlists|django|otp_totp)_\w+)"')


def _tables(captured) -> set[str]:
    """The Govern tables named in the captured queries."""
    return {name for query in captured for name in TABLE.findall(query["sql"])}


def probe() -> dict:
    from django.conf import settings
    from django.db import connections, router, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import User
    from apps.accounts.services import accounts
    from govern.db_router import reading_from_replica
    from govern.roles import Role

    found = {"aliases": sorted(settings.DATABASES), "routers": settings.DATABASE_ROUTERS}
    found["unmarked_read"] = router.db_for_read(User)
    with reading_from_replica():
        found["marked_read"] = router.db_for_read(User)
        found["marked_read_in_recovery"] = _in_recovery(router.db_for_read(User))
        found["marked_write"] = router.db_for_write(User)
        with transaction.atomic():
            found["marked_read_in_transaction"] = router.db_for_read(User)
    found["default_in_recovery"] = _in_recovery("default")

    # A row the replica cannot have yet: replay paused, the row written on the primary.
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    accounts.create_user(None, "replica-probe", None, roles=[Role.OVERSIGHT])
    with reading_from_replica():
        found["seen_on_replica_while_paused"] = User.objects.filter(username="replica-probe").exists()
    found["seen_on_primary"] = User.objects.filter(username="replica-probe").exists()
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")
    target = _primary_lsn()
    while not _replayed(target):
        time.sleep(0.005)
    with reading_from_replica():
        found["seen_on_replica_after_replay"] = User.objects.filter(username="replica-probe").exists()

    # Replica lag for a change, as a dashboard sees it: commit on the primary, poll the replica until it shows.
    lags = []  # milliseconds from the commit's return to the row's first appearance on the replica
    for n in range(5):
        name = f"lag-probe-{n}"
        accounts.create_user(None, name, None, roles=[Role.OVERSIGHT])
        committed = time.monotonic()
        with reading_from_replica():
            while not User.objects.filter(username=name).exists():
                time.sleep(0.001)
        lags.append(round((time.monotonic() - committed) * 1000, 1))
    found["lag_ms"] = lags

    # A service called inside a marked block still writes (and reads) on the primary.
    with reading_from_replica():
        made = accounts.create_user(None, "written-while-marked", None, roles=[Role.OVERSIGHT])
    found["written_while_marked_db"] = made._state.db
    found["written_while_marked_on_primary"] = User.objects.using("default").filter(pk=made.pk).exists()

    # The replica itself refuses writes.
    try:
        with connections["replica"].cursor() as cursor:
            cursor.execute("CREATE TABLE replica_write_probe (id int)")
        found["replica_refused_write"] = ""
    except Exception as exc:  # the message is the finding
        found["replica_refused_write"] = str(exc).splitlines()[0]

    # The pages: the public records and the oversight dashboard read from the replica.
    client = Client()
    oversight = User.objects.get(username="replica-probe")
    client.force_login(oversight)
    for name, path in (("public", "/public/deployments/"), ("dashboard", "/oversight/"), ("home", "/")):
        with (
            CaptureQueriesContext(connections["default"]) as on_primary,
            CaptureQueriesContext(connections["replica"]) as on_replica,
        ):
            response = client.get(path)
        found[name] = {
            "status": response.status_code,
            "primary": sorted(_tables(on_primary.captured_queries)),
            "replica": sorted(_tables(on_replica.captured_queries)),
        }
    return found


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(probe()))
