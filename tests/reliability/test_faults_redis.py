"""Redis stopped: the web keeps serving, and the work queued meanwhile runs once it is back (issue 8, part 4).

A private redis-server on a free port is the broker (the shared one on 6379 is never touched). It is stopped, and
through the real pages a compiler uploads a custody image, a commander approves a watchlist and an officer submits
a retrospective search: each answers as usual, at once, and its task waits in the outbox. Redis is started again on
the same port, `manage.py outbox_dispatch` puts what waited on the broker's queue, and a real Celery worker runs it
against the committed test database: each piece of work is done, and done once, even when every message is
delivered a second time (a sender that died after publishing and before marking the row sent).
"""

import contextlib
import datetime
import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageOps

from apps.audit.models import Event
from apps.matching.choices import SearchState
from apps.matching.models import CustodyTemplate, SearchRequest, WatchlistTemplate
from apps.outbox.models import Message
from apps.watchlists.choices import LegalBasis, WatchlistState
from apps.watchlists.models import Watchlist
from apps.watchlists.services import custody, watchlists
from govern.celery import app
from tests.matching_fixtures import astronaut_subject
from tests.processes import stop, worker_environment
from tests.watchlist_fixtures import compile_watchlist

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent.parent
QUICK = 10.0  # seconds: a correctness bound (the request did not hang on the broker), not a benchmark
WORK = ("custody_template.enrolled", "templates.enrolled", "search.probe_searched")


class RedisServer:
    """A redis-server of the test's own, without persistence, that can be stopped and started on the same port."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2)


def _forget_producers(close: bool = False):
    """Make the next publish take a connection to the broker now configured; `close` the current broker's pool.

    kombu keeps one pool per broker URL for the whole process: the test settings' pool (memory://, which eager
    tasks use too) must stay open for the tests that follow; only the private server's pool is closed.
    """
    if close and app._pool is not None:
        with contextlib.suppress(Exception):  # a pool whose broker is gone may fail to close; it is dropped anyway
            app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker():
    """Celery publishes to a private redis-server (not eagerly) for this test; the settings come back after."""
    server = RedisServer()
    server.start()
    saved = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    app.conf.broker_url, app.conf.task_always_eager = server.url, False
    _forget_producers()
    try:
        yield server
    finally:
        _forget_producers(close=True)
        server.stop()
        app.conf.update(saved)
        _forget_producers()


def _worker(broker_url: str) -> subprocess.Popen:
    """A real Celery worker (production settings, this broker, the committed test database) on embed and default."""
    environment = worker_environment(broker_url, FACE_ALLOW_UNCALIBRATED="true")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "govern", "worker", "-Q", "embed,default", "--pool", "solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def _timed(send):
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def _wait(condition, worker: subprocess.Popen, what: str, seconds: float = 240.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited while waiting for {what}:\n{worker.stdout.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.5)


def _key(name: str) -> str:
    """A broker key as this test process's Celery writes it: under the instance's prefix (CELERY_KEY_PREFIX)."""
    return settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "") + name


def _drained(server: RedisServer) -> bool:
    """Every message taken and acknowledged (acks_late: a task's message leaves `unacked` when the task is done)."""
    client = server.client()
    return client.llen(_key("embed")) == 0 and client.llen(_key("default")) == 0 and not client.hlen(_key("unacked"))


def _work_done() -> dict:
    return {action: Event.objects.filter(action=action).count() for action in WORK}


@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_the_web_serves_and_the_queued_work_runs_once_it_is_back(
    broker, actors, approvers, astronaut, now, engine_approved
):
    # --- Redis stops. The data a compiler prepared beforehand waits too (its image's enrolment is queued).
    broker.stop()
    subject, image = astronaut_subject(actors.compiler, astronaut)
    watchlist = compile_watchlist(actors.compiler, subject, image, now=now)
    review = watchlists.submit(actors.compiler, watchlist, now=now)

    # --- Through the real pages, three actions that queue work: each answers as usual, and at once.
    compiler, commander, officer = Client(), Client(), Client()
    compiler.force_login(actors.compiler)
    commander.force_login(approvers.superintendent)
    officer.force_login(actors.officer)
    mirrored = _jpeg(ImageOps.mirror(Image.open(io.BytesIO(astronaut))))
    upload, upload_took = _timed(
        lambda: compiler.post(
            reverse("watchlists:image-upload", args=[subject.pk]),
            {
                "image": SimpleUploadedFile("custody.jpg", mirrored, "image/jpeg"),
                "captured_on": "2026-01-06",
                "source_system": "Custody suite",
                "legal_basis": LegalBasis.OTHER_LAWFUL,
                "legal_basis_note": "Reliability test",
            },
        )
    )
    approval, approval_took = _timed(
        lambda: commander.post(
            f"/watchlists/{watchlist.pk}/review/?reason=Approving%20for%20the%20deployment",
            {
                "content_hash": review.content_hash,
                "decision": "approve",
                "route": "standard",
                "comment": "Approved.",
                "confirmed": "yes",
            },
        )
    )
    search, search_took = _timed(
        lambda: officer.post(
            reverse("matching:searches"),
            {
                "stills": [SimpleUploadedFile("still.jpg", astronaut, "image/jpeg")],
                "incident_reference": "CAD-4411-22",
                "crime_type": "Robbery",
            },
        )
    )
    for name, response, took in (
        ("custody image upload", upload, upload_took),
        ("watchlist approval", approval, approval_took),
        ("search submission", search, search_took),
    ):
        assert response.status_code == 302, (name, response.status_code, response.content[:500])
        assert took < QUICK, f"{name} took {took:.1f} s with the broker down"
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.APPROVED
    request = SearchRequest.objects.get()
    for client, page in (
        (compiler, "/"),
        (compiler, reverse("watchlists:list")),
        (commander, f"/watchlists/{watchlist.pk}/"),
        (officer, reverse("matching:search", args=[request.pk])),
    ):
        response, took = _timed(lambda client=client, page=page: client.get(page))
        assert response.status_code == 200 and took < QUICK, (page, response.status_code, took)

    # --- Nothing reached the broker, nothing was lost: four messages wait, each tried once, with the reason.
    waiting = list(Message.objects.order_by("pk"))
    assert [(m.task, m.queue) for m in waiting] == [
        ("apps.matching.tasks.embed_custody_image", "embed"),
        ("apps.matching.tasks.embed_custody_image", "embed"),
        ("apps.matching.tasks.embed_watchlist", "embed"),
        ("apps.matching.tasks.run_search", "embed"),
    ]
    assert all(m.sent_at is None and m.attempts == 1 and "Connection refused" in m.last_error for m in waiting)
    assert "@" not in "".join(m.last_error for m in waiting)
    assert not CustodyTemplate.objects.exists() and not WatchlistTemplate.objects.exists()
    assert _work_done() == dict.fromkeys(WORK, 0)

    # --- Redis is back (empty: no persistence). The dispatcher sends what waited; the queue holds exactly that.
    broker.start()
    out = io.StringIO()
    call_command("outbox_dispatch", "--dry-run", stdout=out)
    assert out.getvalue().startswith("4 message(s) pending") and broker.client().llen(_key("embed")) == 0
    out = io.StringIO()
    call_command("outbox_dispatch", stdout=out)
    assert "4 message(s) sent, 0 pending." in out.getvalue()
    assert broker.client().llen(_key("embed")) == 4
    assert not Message.objects.filter(sent_at__isnull=True).exists()
    assert all(m.attempts == 2 for m in Message.objects.all())

    # --- A real worker runs it: two custody templates, one template per entry, the still searched.
    worker = _worker(broker.url)
    try:
        _wait(
            lambda: (
                _work_done() == dict.fromkeys(WORK, 1) | {"custody_template.enrolled": 2}
                and SearchRequest.objects.get().state == SearchState.READY
            ),
            worker,
            "the queued work",
        )
        assert CustodyTemplate.objects.count() == 2
        assert WatchlistTemplate.objects.filter(watchlist=watchlist).count() == 1
        assert SearchRequest.objects.get().processed == 1
        # The task ran under the request that queued it: its audit events trace back to the approval.
        approved = Event.objects.get(action="watchlist.approve")
        assert Event.objects.get(action="templates.enrolled").request_id == approved.request_id

        # --- Every message is delivered a second time, by beat's path this time (the worker runs the dispatch task
        # beat would publish): the work stays done once.
        Message.objects.update(sent_at=None)
        app.send_task("apps.outbox.tasks.dispatch")
        _wait(
            lambda: (
                not Message.objects.filter(sent_at__isnull=True).exists()
                and _drained(broker)
                and (time.sleep(1) or _drained(broker))
            ),
            worker,
            "the second delivery",
        )
        assert all(m.attempts == 3 for m in Message.objects.all())
        assert _work_done() == dict.fromkeys(WORK, 1) | {"custody_template.enrolled": 2}
        assert CustodyTemplate.objects.count() == 2
        assert WatchlistTemplate.objects.filter(watchlist=watchlist).count() == 1
        assert SearchRequest.objects.get().processed == 1
    finally:
        stop(worker)


def _collins(compiler):
    """The astronaut's subject, with no image yet."""
    return custody.create_subject(
        compiler, family_name="Collins", given_names="Eileen", date_of_birth=datetime.date(1956, 11, 19)
    )


def _upload(compiler, subject, photo: bytes, day: int = 5):
    """The compiler uploads a custody image of the subject, which queues its enrolment."""
    return custody.upload_image(
        compiler,
        subject,
        photo,
        captured_on=datetime.date(2026, 1, day),
        source_system="Custody suite",
        legal_basis=LegalBasis.OTHER_LAWFUL,
        legal_basis_note="Reliability test",
    )


@pytest.mark.django_db(transaction=True)
def test_a_message_queued_in_a_transaction_that_rolls_back_never_exists(broker, actors, astronaut):
    from django.db import transaction

    subject = _collins(actors.compiler)
    with pytest.raises(RuntimeError), transaction.atomic():
        _upload(actors.compiler, subject, astronaut)
        raise RuntimeError("the change failed")
    assert not Message.objects.exists()
    assert broker.client().llen(_key("embed")) == 0


@pytest.mark.django_db(transaction=True)
def test_with_redis_up_a_message_is_sent_at_commit_and_takes_the_backlog_with_it(broker, actors, astronaut):
    subject = _collins(actors.compiler)

    def upload(day: int):
        return _upload(actors.compiler, subject, _jpeg(Image.open(io.BytesIO(astronaut)).rotate(day)), day)

    broker.stop()
    upload(1)
    upload(2)
    assert Message.objects.filter(sent_at__isnull=True).count() == 2
    broker.start()
    upload(3)  # sent at commit, and the two that waited go with it
    assert not Message.objects.filter(sent_at__isnull=True).exists()
    assert broker.client().llen(_key("embed")) == 3


@pytest.mark.django_db
def test_without_a_broker_the_task_runs_at_commit_as_before(actors, astronaut, django_capture_on_commit_callbacks):
    assert app.conf.task_always_eager  # the test settings: no broker, tasks run in-process
    subject = _collins(actors.compiler)
    with django_capture_on_commit_callbacks(execute=True):
        image = _upload(actors.compiler, subject, astronaut)
        assert not CustodyTemplate.objects.exists()  # not before commit
    message = Message.objects.get()
    assert message.sent_at is not None and message.attempts == 1 and message.last_error == ""
    assert CustodyTemplate.objects.filter(image=image).exists()


def test_beat_asks_for_a_dispatch_every_half_minute(settings):
    import apps.outbox.tasks  # noqa: F401  (registers the task, as a worker's autodiscovery does)

    entry = settings.CELERY_BEAT_SCHEDULE["outbox-dispatch"]
    assert entry["task"] in app.tasks and entry["schedule"] <= 60  # Govern's app: another test may set a current one
