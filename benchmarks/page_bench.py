"""Page response-time benchmark (issue 23): every page each demo role is shown, and the oversight pages at 1,000,000
audit events.

    .venv/bin/python benchmarks/page_bench.py [--requests 20] [--roles NAME ...] [--paths /PREFIX ...]
        [--events 1000000] [--audit-requests 30] [--skip-demo] [--keep]
    .venv/bin/python benchmarks/page_bench.py --smoke    (the privacy officer's pages once, 5,000 events: the suite)

Runs against a dedicated database `govern_page_bench` (with --smoke, `govern_page_bench_smoke_<pid>`) on the
embedded PostgreSQL server (`.pgdata/`), created afresh and dropped at the end.

1. Demo scale: `manage.py seed_demo` fills the database as `make run` does. Each demo role signs in and the crawler
   of the page tests (`tests/pages/crawl.py`: every link the person is shown, two pages of each shape, the reason
   given where a page asks for one) finds its pages; each HTML page is then requested `--requests` times, the pages
   taking turns, and its p50 and p95 reported beside `/healthz` (every middleware, no database) in the same run.
2. The audit log at `--events` events: appended with COPY as `audit_append` would have (each canonical text, leaf
   hash and stored tree node as the database function writes them, so proofs and checkpoints still verify; a
   checkpoint is signed at the end), a share of them consultations of the demo's people, alerts and images over the
   past year by a few hundred readers on four duties, with reasons that mostly cite a case. Then the privacy officer's
   dashboard and access log (no filter, a deep page, a reader, a period, flagged only, a person by name, the API's
   flagged rows and the start of the CSV export) are requested `--audit-requests` times each.

Measured in this process through Django's test client (the whole middleware stack and the WSGI handler) with DEBUG
off (no query log). Target: p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import audit_bench  # noqa: E402
from benchmarks.audit_bench import SMOKE_HELP, load_average, machine, stop_on_terminate  # noqa: E402

BENCH_DB = "govern_page_bench"
TARGET_P95_MS = 200.0
PASSWORD = "page-bench-password"  # noqa: S105  (the demo accounts of a throwaway database)
CONSULTED_SHARE = 0.4  # of the events filled: the rest are changes (every change, every face's receipt is logged)
READERS = {"officer": 240, "watchlist_compiler": 30, "privacy_officer": 6, "oversight": 4}  # synthetic readers per duty
CASE_LESS_SHARE = 0.05  # consultations whose reason cites no case, deployment or crime reference
REASONS = [
    "Adjudicating alerts at LFR-2026-{n:04d}",
    "Investigation CAD/{n:05d}: checking the candidate",
    "Compiling the watchlist for LFR-2026-{n:04d}",
    "Crime ref CR-{n:06d}: identity check",
]
CASE_LESS = ["Routine check", "Looking at the list", "Curious"]


# --- The demo and its pages ---------------------------------------------------------------------------------------


def seed(var_dir: str) -> None:
    """The demo data `make run` seeds: an account per role, deployments, alerts, searches, cases."""
    from django.core.management import call_command

    call_command("seed_demo", password=PASSWORD, force=True, credentials_file=Path(var_dir) / "creds.txt", verbosity=0)


def client_for(username: str):
    """A test client signed in as the demo account (its second factor taken as passed)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from apps.accounts.models import User
    from apps.accounts.services import two_factor

    user = User.objects.get(username=username)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    if user.needs_second_factor:  # as django-otp's login marks a session after a right code (the demo enrolled one)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = two_factor.confirmed_device(user).persistent_id
        session.save()
    return client


def pages_of(username: str) -> list[str]:
    """The HTML pages the person is shown, found by following every link (the page tests' crawler)."""
    from tests.pages.crawl import crawl

    client = client_for(username)
    return [url for url, (status, _from, html) in crawl(client).items() if status == 200 and html]


def p95(values: list[float]) -> float:
    """The 95th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


CPU: dict[str, list[float]] = {}  # CPU seconds of this process per request, by path (or the oversight page's name)


def timed(client, paths: list[str], requests: int, stream: bool = False, cpu_key=None) -> dict[str, list[float]]:
    """Each path `requests` times, the paths taking turns, after one warm request each: seconds per request (for a
    streamed answer, to its first chunk). The CPU time this process spent on each (the serving side: the whole
    middleware stack, the view and the template, without the database's own CPU) goes to `CPU`: on a shared machine
    it is far steadier than the wall clock."""
    timings = {path: [] for path in paths}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
    for _ in range(requests):
        for path in paths:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(path)
            if response.streaming:
                next(iter(response.streaming_content))
            timings[path].append(time.perf_counter() - started)
            CPU.setdefault(cpu_key(path) if cpu_key else path, []).append(time.process_time() - cpu_started)
            assert response.status_code == 200, (path, response.status_code)
            if response.streaming:
                response.close()
    return timings


def bench_demo(requests: int, roles: list[str] | None = None, prefixes: list[str] | None = None) -> dict:
    """Every role's pages at demo scale (or the `roles`' only, or those whose address starts with one of `prefixes`),
    each beside `/healthz` in the same turns."""
    from apps.accounts.management.commands.seed_demo import DEMO_ACCOUNTS

    found = {}
    for username in roles or [account[0] for account in DEMO_ACCOUNTS]:
        pages = [page for page in pages_of(username) if not prefixes or page.startswith(tuple(prefixes))]
        found[username] = timed(
            client_for(username), ["/healthz", *pages], requests, cpu_key=lambda p, u=username: (u, p)
        )
        print(f"   {username}: {len(pages)} pages", flush=True)
    return found


# --- The audit log at a million events ----------------------------------------------------------------------------


def make_readers(rng) -> dict[str, list[tuple[int, str]]]:
    """Synthetic readers on each duty, as (id, username), beside the demo's own accounts."""
    from apps.accounts.models import User
    from apps.accounts.services import accounts
    from govern.roles import Role

    found = {}
    for duty, count in READERS.items():
        role = Role(duty)
        made = [
            accounts.create_user(None, f"bench-{duty.replace('_', '-')}-{n:03d}", None, roles=[role])
            for n in range(count)
        ]
        demo = list(User.objects.filter(groups__name=role.value, username__in=["officer", "compiler", "privacy"]))
        found[duty] = [(user.pk, user.username) for user in made + demo]
    return found


def consulted_targets() -> list[tuple[str, str]]:
    """The demo's records a reader consults: its subjects, images, entries and alerts."""
    from apps.matching.models import Alert
    from apps.watchlists.models import CustodyImage, Entry, Subject

    targets = [("watchlists.subject", str(pk)) for pk in Subject.objects.values_list("pk", flat=True)]
    targets += [("watchlists.custodyimage", str(pk)) for pk in CustodyImage.objects.values_list("pk", flat=True)]
    targets += [("watchlists.entry", str(pk)) for pk in Entry.objects.values_list("pk", flat=True)]
    targets += [("matching.alert", str(pk)) for pk in Alert.objects.values_list("pk", flat=True)]
    return targets


def fill(target: int, rng, chunk: int = 100_000) -> dict:
    """Append events up to `target` as `audit_append` writes them (COPY, one transaction per chunk): consultations
    (CONSULTED_SHARE of them, by the synthetic readers, a few heavy ones among the officers) and changes, their times
    spread over the past year in order."""
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.audit import merkle, services
    from apps.audit.choices import CONSULTATION_ACTION
    from apps.audit.models import LogHead

    readers = make_readers(rng)
    duties = list(readers)
    weights = [READERS[duty] for duty in duties]
    heavy = set(readers["officer"][:3])  # three officers read ten times as much as their peers
    targets = consulted_targets()
    start_size = services.tree_size()
    now = timezone.now()
    first = now - datetime.timedelta(days=365)
    step = (now - datetime.timedelta(hours=1) - first) / max(1, target - start_size)
    consultations = 0
    t0 = time.perf_counter()
    while True:
        with transaction.atomic():
            head = LogHead.objects.select_for_update().get(pk=1)
            if head.size >= target:
                break
            edge = merkle.CompactRange.from_bytes(head.size, bytes(head.frontier))
            end = min(target, head.size + chunk)
            nodes = []
            with connection.connection.cursor() as cursor:
                with cursor.copy(f"COPY audit_event ({audit_bench.EVENT_COLUMNS}) FROM STDIN") as copy:
                    for seq in range(head.size, end):
                        created_at = first + step * (seq - start_size)
                        request_id = uuid.uuid4()
                        if rng.random() < CONSULTED_SHARE:
                            consultations += 1
                            pool = readers[rng.choices(duties, weights)[0]]
                            actor_id, actor = rng.choice(pool)
                            if rng.random() < 0.04:
                                actor_id, actor = rng.choice(sorted(heavy))
                            action = CONSULTATION_ACTION
                            target_type, target_id = rng.choice(targets)
                            n = rng.randrange(10_000)
                            reason = (
                                rng.choice(CASE_LESS)
                                if rng.random() < CASE_LESS_SHARE
                                else rng.choice(REASONS).format(n=n)
                            )
                            data = {"shown": [int(target_id)]}
                        else:
                            actor_id, actor = None, services.SYSTEM_ACTOR
                            action, target_type, target_id, reason = "account.update", "bench.thing", str(seq), ""
                            data = audit_bench.payload(seq)
                        body = {
                            "v": 1,
                            "seq": seq,
                            "time": services.format_time(created_at),
                            "actor_id": actor_id,
                            "actor": actor,
                            "request_id": str(request_id),
                            "action": action,
                            "target_type": target_type,
                            "target_id": target_id,
                            "reason": reason,
                            "data": data,
                        }
                        canonical = services.canonical_json(body)
                        leaf = merkle.leaf_hash(canonical.encode())
                        row = (seq, created_at, actor_id, actor, request_id, action, target_type, target_id, reason)
                        copy.write_row((*row, canonical, leaf))
                        nodes += edge.append(leaf)
                with cursor.copy('COPY audit_treenode (level, "index", hash) FROM STDIN') as copy:
                    for node in nodes:
                        copy.write_row(node)
            LogHead.objects.filter(pk=1).update(size=edge.size, frontier=edge.to_bytes())
        print(f"   filled to {end:,} events ({time.perf_counter() - t0:.0f} s)", flush=True)
    services.sign_checkpoint()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_event")
        cursor.execute("VACUUM ANALYZE audit_treenode")
    return {"events": target, "consultations": consultations, "seconds": time.perf_counter() - t0}


def audit_pages() -> dict[str, str]:
    """The oversight pages measured at a million events, by what each asks."""
    from django.utils import timezone

    from apps.watchlists.models import Subject

    subject = Subject.objects.order_by("pk").first()
    since = (timezone.now() - datetime.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    return {
        "/healthz": "/healthz",
        "dashboard": "/oversight/",
        "access log": "/oversight/access/",
        "access log, page 50": "/oversight/access/?page=50",
        "access log, a reader": "/oversight/access/?actor=bench-officer-001",
        "access log, the last 30 days": f"/oversight/access/?start={since}",
        "access log, flagged only": "/oversight/access/?flagged_only=on",
        "access log, flagged only, page 50": "/oversight/access/?flagged_only=on&page=50",
        "access log, a person by name": f"/oversight/access/?person={subject.family_name}",
        "access API, flagged only": "/api/oversight/access/?flagged_only=true",
        "access log CSV export, first chunk": "/oversight/access/?export=csv",
    }


def bench_audit(requests: int) -> dict:
    """The oversight pages as the privacy officer, at the log's size now."""
    from rest_framework.test import APIClient

    from apps.accounts.models import User

    pages = audit_pages()
    browser = client_for("privacy")
    api = APIClient(HTTP_HOST="localhost")
    api.force_authenticate(User.objects.get(username="privacy"))  # a token's holder: no second step on the API
    timings = {}
    for _ in range(requests):  # the pages taking turns, each through its own client
        for name, path in pages.items():
            client = api if path.startswith("/api/") else browser
            timings.setdefault(name, []).extend(timed(client, [path], 1, cpu_key=lambda _p, n=name: ("audit", n))[path])
    return {"timings": timings, "paths": pages}


def profile(clients: dict, paths: dict[str, list[str]], folder: Path) -> None:
    """A pyinstrument profile of one request of each page (after the timed ones warmed it), as text in `folder`."""
    from pyinstrument import Profiler

    folder.mkdir(parents=True, exist_ok=True)
    for who, client in clients.items():
        for path in paths[who]:
            profiler = Profiler(interval=0.0005)
            profiler.start()
            response = client.get(path)
            if response.streaming:
                next(iter(response.streaming_content))
            profiler.stop()
            slug = "".join(c if c.isalnum() else "_" for c in path)[:80]
            (folder / f"{who}{slug}.txt").write_text(profiler.output_text(unicode=False, show_all=False))


# --- The report -----------------------------------------------------------------------------------------------------


def row(name: str, values: list[float], healthz: float, cpu: list[float], healthz_cpu: float) -> str:
    high = p95(values)
    verdict = "met" if high * 1000 < TARGET_P95_MS else "**missed**"
    mid = statistics.median(cpu)
    return (
        f"| {name} | {statistics.median(values) * 1000:.1f} | {high * 1000:.1f} | {high / healthz:.1f} | "
        f"{mid * 1000:.1f} | {mid / healthz_cpu:.1f} | {verdict} |"
    )


HEADER = "| page | p50 ms | p95 ms | p95 / `/healthz` p95 | CPU ms p50 | CPU / `/healthz` CPU | p95 < 200 ms |"


def report(demo: dict, audit: dict, filled: dict, args) -> list[str]:
    """Print both tables; the pages over the target."""
    missed = []
    print(f"\n== every page each demo role is shown, demo scale, {args.requests} requests a page")
    print("\n" + HEADER.replace("| page", "| role: page"))
    print("| --- | --- | --- | --- | --- | --- | --- |")
    pages = 0
    for username, timings in demo.items():
        healthz, healthz_cpu = p95(timings["/healthz"]), statistics.median(CPU[(username, "/healthz")])
        for path, values in timings.items():
            pages += path != "/healthz"
            if p95(values) * 1000 >= TARGET_P95_MS:
                missed.append(f"{username}: {path}")
            print(row(f"{username}: `{path}`", values, healthz, CPU[(username, path)], healthz_cpu))
    print(f"\n{pages} pages of {len(demo)} roles; over {TARGET_P95_MS:.0f} ms p95: {len(missed)}")
    print(
        f"\n== oversight at {filled['events']:,} audit events ({filled['consultations']:,} consultations, filled in "
        f"{filled['seconds']:.0f} s), {args.audit_requests} requests a page"
    )
    print("\n" + HEADER)
    print("| --- | --- | --- | --- | --- | --- | --- |")
    healthz, healthz_cpu = p95(audit["timings"]["/healthz"]), statistics.median(CPU[("audit", "/healthz")])
    for name, values in audit["timings"].items():
        if p95(values) * 1000 >= TARGET_P95_MS:
            missed.append(name)
        print(row(f"{name} (`{audit['paths'][name]}`)", values, healthz, CPU[("audit", name)], healthz_cpu))
    print(f"\npages over {TARGET_P95_MS:.0f} ms p95: {', '.join(missed) or 'none'}")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="timed requests of each demo page")
    parser.add_argument("--events", type=int, default=1_000_000, help="the audit log's size for the oversight pages")
    parser.add_argument("--audit-requests", type=int, default=30, help="timed requests of each oversight page")
    parser.add_argument("--skip-demo", action="store_true", help="only the oversight pages at --events")
    parser.add_argument("--roles", nargs="+", help="only these demo accounts' pages (default: every demo account)")
    parser.add_argument(
        "--paths", nargs="+", help="only the demo pages whose address starts with one of these (e.g. /audit/events/)"
    )
    parser.add_argument("--pgdata", type=Path, default=ROOT / ".pgdata")
    parser.add_argument("--database", default=BENCH_DB, help="the bench database's name (one per engineer)")
    parser.add_argument(
        "--profile", type=Path, help="write a pyinstrument profile of each page measured into this folder (pip install)"
    )
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database afterwards (to explain)")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    name = args.database
    if args.smoke:
        args.requests, args.events, args.audit_requests, args.roles = 1, 5_000, 2, ["privacy"]
        name = audit_bench.smoke_database(BENCH_DB)
    host = machine()
    print(f"machine: {host}, load average {load_average()}", flush=True)
    socket_dir = audit_bench.create_bench_database(args.pgdata, name)
    os.environ.setdefault("MATCH_THRESHOLD", "1.000")  # as `make run` seeds with the uncalibrated engine
    with tempfile.TemporaryDirectory(prefix="govern-page-bench-") as var_dir:
        audit_bench.setup_django(socket_dir, var_dir, name)
        try:
            from django.conf import settings

            settings.DEBUG = False  # no query log, as production serves
            warnings.filterwarnings("ignore", message="No directory at")  # WhiteNoise: no collectstatic, no files
            print("1. seeding the demo", flush=True)
            seed(var_dir)
            demo = {}
            if not args.skip_demo:
                print(f"2. every role's pages, {args.requests} requests each", flush=True)
                demo = bench_demo(args.requests, args.roles, args.paths)
                if args.profile:
                    profile({u: client_for(u) for u in demo}, {u: list(t) for u, t in demo.items()}, args.profile)
            print(f"3. the audit log to {args.events:,} events", flush=True)
            filled = fill(args.events, random.Random(23))
            print(f"4. the oversight pages, {args.audit_requests} requests each", flush=True)
            audit = bench_audit(args.audit_requests)
            if args.profile:
                browser = client_for("privacy")
                paths = [path for path in audit["paths"].values() if not path.startswith("/api/")]
                profile({"privacy-1M": browser}, {"privacy-1M": paths}, args.profile)
        finally:
            if not args.keep:
                audit_bench.drop_bench_database(socket_dir, name)
    report(demo, audit, filled, args)
    print(f"machine {host}, load at end {load_average()}")
    return 0  # every page answered 200 (timed checks each answer); the figures are for docs/benchmarks.md


if __name__ == "__main__":
    stop_on_terminate()
    sys.exit(main())
