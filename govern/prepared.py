"""psycopg's own cursor on Django's connection, and prepared statements for the few hot statements that ask for
them, and for nothing else.

Django's cursors bind on the client: they cannot prepare a statement or ask for binary results, and their wrapper
costs about as much Python as a hot statement's own. `cursor()` gives the driver's server-side-binding cursor, with
Django's translation of database errors, for the statements that need either.

PostgreSQL parses and plans every statement it is sent unprepared: 0.3 ms for a frame's admission join, which,
prepared, costs the server 0.06 ms in all (docs/benchmarks.md, Matching: prepared statements). But while preparing
is switched on, psycopg remembers the text of every statement it runs (the last 100), and Django's cursors bind on
the client, so that text holds the values: a retrospective probe's vector would stay in a worker's memory after its
search. So preparing stays off on Django's connection (psycopg's prepare_threshold None) and is switched on only for
the length of one `execute` that asks for it; a statement prepared then is used again the next time it is asked for.
"""

from contextlib import contextmanager

import psycopg
from django.db import connection

# Any number does: `prepare=True` prepares at once. Never reached by counting, since it is set for one execute only.
_WHILE_ASKED = 1 << 30


@contextmanager
def cursor():
    """The driver's cursor on Django's connection (connected first if need be); its errors become Django's."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as driver_cursor:
        yield driver_cursor


def execute(cursor: psycopg.Cursor, sql: str, params) -> None:
    """Run `sql` on the driver's server-side-binding cursor as a prepared statement (prepared on first use)."""
    raw = cursor.connection
    raw.prepare_threshold = _WHILE_ASKED
    try:
        cursor.execute(sql, params, prepare=True)
    finally:
        raw.prepare_threshold = None


def mark_saved(instance):
    """Tell Django that a model instance written here by raw SQL is a saved row of the default connection (as its
    own save would have), so that later saves update it instead of inserting it again."""
    instance._state.adding, instance._state.db = False, connection.alias
    return instance
