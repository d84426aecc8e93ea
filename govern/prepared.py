"""Prepared statements for the few hot statements that ask for them, and for nothing else.

PostgreSQL parses and plans every statement it is sent unprepared: 0.3 ms for a frame's admission join, which,
prepared, costs the server 0.06 ms in all (docs/benchmarks.md, matching run 11). But while preparing is switched on,
psycopg remembers the text of every statement it runs (the last 100), and Django's cursors bind on the client, so
that text holds the values: a retrospective probe's vector would stay in a worker's memory after its search. So
preparing stays off on Django's connection (psycopg's prepare_threshold None) and is switched on only for the length
of one `execute` that asks for it; a statement prepared then is used again the next time it is asked for.
"""

import psycopg

# Any number does: `prepare=True` prepares at once. Never reached by counting, since it is set for one execute only.
_WHILE_ASKED = 1 << 30


def execute(cursor: psycopg.Cursor, sql: str, params) -> None:
    """Run `sql` on the driver's server-side-binding cursor as a prepared statement (prepared on first use)."""
    raw = cursor.connection
    raw.prepare_threshold = _WHILE_ASKED
    try:
        cursor.execute(sql, params, prepare=True)
    finally:
        raw.prepare_threshold = None
