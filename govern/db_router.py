"""Reads of a few report pages from a streaming replica; everything else from the primary.

A read goes to the replica only when the code asked for it (`reading_from_replica()` or `@reads_from_replica`)
and no transaction is open on the primary. So a service, which reads and writes inside `transaction.atomic()`,
never decides a write on a replica's stale row, and every write (and the audit log's appends, which use the
primary's connection directly) goes to the primary whatever the caller asked. Without DATABASE_REPLICA_URL there is
no "replica" alias, the router is not installed and the marks change nothing.
"""

import contextvars
from contextlib import contextmanager
from functools import wraps

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
_wanted = contextvars.ContextVar("govern_reading_from_replica", default=False)


@contextmanager
def reading_from_replica():
    """Within the block, reads outside a transaction may come from the replica (seconds behind the primary)."""
    token = _wanted.set(True)
    try:
        yield
    finally:
        _wanted.reset(token)


def reads_from_replica(view):
    """A page whose reads may lag the primary by a few seconds: a dashboard, a published report."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        with reading_from_replica():
            return view(request, *args, **kwargs)

    return wrapped


def replica_in_use() -> bool:
    """Whether a read here would go to the replica."""
    return _wanted.get() and REPLICA in connections.settings and not connections[DEFAULT_DB_ALIAS].in_atomic_block


class ReplicaRouter:
    """Marked reads outside a transaction to the replica; all else, writes above all, to the primary."""

    def db_for_read(self, model, **hints):
        # Never None: Django would then follow the instance's own database, and a row read from the replica would
        # pull its related rows from there too, outside any marked block.
        return REPLICA if replica_in_use() else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the primary's rows: an object read from either may point at one read from the other.
        return {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA, None}

    def allow_migrate(self, db, app_label, **hints):
        return db == DEFAULT_DB_ALIAS
