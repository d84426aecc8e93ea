"""Govern as production serves it: nginx in front, gunicorn behind it on a private Unix socket.

    python -m govern.serve --bind 127.0.0.1:8000 [--access-log]

Why nginx: gunicorn's threaded worker reads each request on one of its few request threads, so clients that connect
and send nothing, or send a body slowly, hold those threads; and gunicorn 23 spins at full CPU, never to serve again,
once a worker's `worker_connections` are all idle (gunicorn issue 3146). nginx reads every request whole on its
event loop (thousands of idle or slow connections cost it a few kilobytes each), drops a client that stalls past a
timeout, serves the static files itself, and only then opens a connection to gunicorn with the complete request in
hand. So gunicorn only ever sees complete requests from nginx, and its one-connection-per-thread cap
(gunicorn.conf.py), which spreads a van's frames evenly over the processes, can no longer be filled by idle clients.

This process writes nginx's configuration into a run folder (`$GOVERN_VAR_DIR/serve`, or `--run-dir`), starts
gunicorn (gunicorn.conf.py) and nginx, and stops both when either stops or on SIGINT/SIGTERM. The limits are
settings (README, "Settings"): SERVE_HEADER_TIMEOUT, SERVE_BODY_TIMEOUT, SERVE_MAX_CONNECTIONS,
SERVE_CONNECTIONS_PER_ADDRESS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from govern import env

ROOT = Path(__file__).resolve().parent.parent
MIME_TYPES = Path("/etc/nginx/mime.types")  # Debian's nginx-common

# Each refusal nginx makes itself gets a plain sentence, not nginx's own page.
REFUSALS = {
    400: "Bad request: the request could not be read.",
    408: "Request timeout: the request was not sent in time.",
    413: "Request body too large: limit {body_limit} bytes.",
    414: "Request line too long: the address is over {line_limit} characters.",
    494: "Request headers too large.",
    502: "Govern is not answering at the moment: try again shortly.",
    503: "Too many connections from this address: close some and try again.",
    504: "Govern did not answer in time: try again shortly.",
}

NGINX_CONF = """\
# Written by govern/serve.py at each start; edit that file, not this one.
{user}
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {run}/nginx.pid;
error_log stderr warn;

events {{
    worker_connections {max_connections};
}}

http {{
    {mime_types}
    default_type application/octet-stream;
    server_tokens off;
    sendfile on;
    tcp_nodelay on;
    {access_log}

    # A client that stalls is dropped: headers within SERVE_HEADER_TIMEOUT, the body never idle longer than
    # SERVE_BODY_TIMEOUT, and an idle kept-alive connection closed after 15 s.
    client_header_timeout {header_timeout}s;
    client_body_timeout {body_timeout}s;
    send_timeout 60s;
    keepalive_timeout 15s;
    reset_timedout_connection on;
    client_max_body_size {body_limit};
    client_body_buffer_size 1m;
    large_client_header_buffers 4 8k;
    limit_conn_zone $binary_remote_addr zone=per_address:10m;
    limit_conn per_address {per_address};
    limit_conn_status 503;

    client_body_temp_path {run}/client-body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;

    upstream govern {{
        server unix:{socket};
    }}

    server {{
        listen {bind} backlog=4096;
        {static}

        location / {{
            proxy_pass http://govern;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # The whole request is read before gunicorn sees it; responses are buffered so a slow reader holds
            # nginx, not a request thread.
            proxy_request_buffering on;
            proxy_buffering on;
            proxy_read_timeout 300s;
            proxy_intercept_errors off;
        }}

{refusals}
    }}
}}
"""


def settings() -> dict:
    """The serving limits, from the environment through Govern's strict parsers."""
    return {
        "header_timeout": env.integer("SERVE_HEADER_TIMEOUT", 10, minimum=1, maximum=300),
        "body_timeout": env.integer("SERVE_BODY_TIMEOUT", 10, minimum=1, maximum=300),
        "max_connections": env.integer("SERVE_MAX_CONNECTIONS", 4096, minimum=64, maximum=65536),
        "per_address": env.integer("SERVE_CONNECTIONS_PER_ADDRESS", 1024, minimum=1, maximum=65536),
        "body_limit": env.integer("MAX_REQUEST_BODY_BYTES", 16 * 1024 * 1024, minimum=1024),
    }


def static_root() -> Path | None:
    """Where `collectstatic` put the static files, if it has: nginx serves them; otherwise WhiteNoise does."""
    import django
    from django.conf import settings as django_settings

    django.setup(set_prefix=False)
    root = Path(django_settings.STATIC_ROOT)
    return root if root.is_dir() and any(root.iterdir()) else None


def nginx_conf(run: Path, bind: str, socket: Path, static: Path | None, access_log: bool) -> str:
    """nginx's configuration for this run."""
    limits = settings()
    refusals = []
    for status, text in REFUSALS.items():
        message = text.format(line_limit=8192, **limits)
        extra = "add_header Retry-After 5 always; " if status in (502, 503, 504) else ""
        refusals.append(
            f"        error_page {status} /_refused/{status};\n"
            f"        location = /_refused/{status} {{ internal; default_type text/plain; {extra}return {status} "
            f'"{message}\\n"; }}'
        )
    static_block = ""
    if static is not None:
        static_block = (
            f"location /static/ {{ alias {static}/; access_log off; expires 1h; add_header Cache-Control public; }}"
        )
    root_user = os.geteuid() == 0
    return NGINX_CONF.format(
        user="user nobody nogroup;" if root_user else "",
        nofile=limits["max_connections"] * 2 + 64,
        run=run,
        mime_types=f"include {MIME_TYPES};" if MIME_TYPES.exists() else "",
        # The address, the method and the path, never the query string: reasons and search terms stay out of logs.
        access_log=(
            'log_format govern \'$remote_addr [$time_local] "$request_method $uri" $status $body_bytes_sent '
            "$request_time';\n    access_log /dev/stdout govern;"
            if access_log
            else "access_log off;"
        ),
        socket=socket,
        bind=bind,
        static=static_block,
        refusals="\n".join(refusals),
        **limits,
    )


def nginx_binary() -> str:
    """nginx's path; `make setup` installs Debian's package where it is missing."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise SystemExit("nginx is not installed: run `make setup` (it installs Debian's nginx-light).")
    return found


def _world_traversable(path: Path) -> bool:
    """Whether an unprivileged user (nginx's workers under root) can reach files in this folder."""
    return all(folder.stat().st_mode & 0o001 for folder in [path, *path.parents])


def prepare(run: Path, bind: str, access_log: bool) -> tuple[Path, Path, Path]:
    """nginx's configuration in `run`, and a private folder for gunicorn's socket and nginx's temporary files.

    Started by root, nginx's workers run as nobody: the private folder is theirs (0700) wherever `run` is, and the
    static files are served by nginx only where nobody can read them. Returns (configuration, socket, private).
    """
    run.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix="govern-serve-"))
    for name in ("client-body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (private / name).mkdir()
    if os.geteuid() == 0:
        for folder in [private, *private.iterdir()]:
            shutil.chown(folder, "nobody", "nogroup")
    socket = private / "gunicorn.sock"
    static = static_root()
    if static is not None and os.geteuid() == 0 and not _world_traversable(static):
        static = None  # WhiteNoise serves them through gunicorn instead
    conf = run / "nginx.conf"
    conf.write_text(nginx_conf(private, bind, socket, static, access_log))
    return conf, socket, private


def wait_for_socket(socket: Path, gunicorn: subprocess.Popen, timeout: float = 120) -> None:
    """Until gunicorn listens on its socket (its workers load Django first)."""
    import socket as sockets

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gunicorn.poll() is not None:
            raise SystemExit(f"gunicorn exited with {gunicorn.returncode} before it listened")
        if socket.exists():
            with sockets.socket(sockets.AF_UNIX) as probe:
                try:
                    probe.connect(str(socket))
                    return
                except OSError:
                    pass
        time.sleep(0.1)
    raise SystemExit(f"gunicorn did not listen on {socket} within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bind", default="127.0.0.1:8000", help="address nginx listens on, HOST:PORT")
    parser.add_argument("--run-dir", type=Path, help="folder for nginx's configuration, socket and temporary files")
    parser.add_argument("--access-log", action="store_true", help="nginx logs each request (without query strings)")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govern.settings.base")
    # Every request now comes from nginx: the client's address is the last entry nginx adds to X-Forwarded-For.
    os.environ["PROXY_FORWARDED_FOR"] = "true"
    run = args.run_dir or env.path("GOVERN_VAR_DIR", ROOT / "var") / "serve"
    conf, socket, private = prepare(run.resolve(), args.bind, args.access_log)
    nginx = nginx_binary()
    processes: list[subprocess.Popen] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    try:
        nginx_args = [nginx, "-e", "stderr", "-p", str(run), "-c", str(conf)]
        check = subprocess.run([*nginx_args, "-t", "-q"], check=False)  # noqa: S603  (our nginx, our configuration)
        if check.returncode != 0:
            return check.returncode
        gunicorn = [sys.executable, "-m", "gunicorn", "govern.wsgi", "--bind", f"unix:{socket}"]
        processes.append(subprocess.Popen(gunicorn, cwd=ROOT))  # noqa: S603
        wait_for_socket(socket, processes[0])
        processes.append(subprocess.Popen([*nginx_args, "-g", "daemon off;"], cwd=ROOT))  # noqa: S603
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        stopped = next(process for process in processes if process.poll() is not None)
        return stopped.returncode or 1
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(private, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
