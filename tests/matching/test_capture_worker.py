"""Live capture out of the web process (issue 25, point 5): the web process admits a camera's frame, a capture worker
(`celery -A govern worker -Q capture`) runs the models and records it, and the answers a camera gets are the same.

The real-worker tests run a Celery worker on the machine's Redis (db 15, as tests/test_celery.py) under a key prefix of
their own, on the committed test database; this test process is the web process, with the face engine unloaded and
every way into it made to fail, so a model called here would fail the request.
"""

import io
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.audit.models import Event
from apps.matching import engine as engine_module
from apps.matching.models import Alert, Capture, DeletionReceipt, EngineApproval
from apps.matching.services import capture_queue, engine_approval, enrolment, live_capture
from tests.processes import stop, worker_environment

ROOT = Path(__file__).resolve().parent.parent.parent
BROKER = "redis://127.0.0.1:6379/15"
URL, CROPS_URL = "/api/matching/capture/", "/api/matching/capture/crops/"

pytestmark = [pytest.mark.slow]


def _recorded() -> tuple[int, ...]:
    faces = Event.objects.filter(action__in=["alert.raised", "face.deleted", "capture.processed"]).count()
    return Capture.objects.count(), Alert.objects.count(), DeletionReceipt.objects.count(), faces


def _no_models_here(monkeypatch) -> None:
    """Unload this process's engine and make every way into it fail."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the face engine was called in the web process")

    monkeypatch.setattr(engine_module, "_engine", None)
    for module in (engine_module, live_capture, enrolment, engine_approval):
        if hasattr(module, "get_engine"):
            monkeypatch.setattr(module, "get_engine", refuse)
    monkeypatch.setattr(engine_approval, "engine_identity", refuse)
    monkeypatch.setattr(live_capture, "engine_identity", refuse)
    for method in ("_detect", "_forward", "face_from_crop"):
        monkeypatch.setattr(engine_module.FaceEngine, method, refuse, raising=False)


@pytest.fixture
def broker(settings, monkeypatch):
    """This process sends capture jobs to the machine's Redis under a prefix of its own (no other run shares it)."""
    import redis
    from celery import Celery

    prefix = f"govern-capture-test-{uuid.uuid4().hex[:8]}:"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = BROKER
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": prefix}
    settings.CAPTURE_QUEUE_SECONDS = 2
    app = Celery(broker=BROKER, broker_transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    app.conf.task_routes = settings.CELERY_TASK_ROUTES
    monkeypatch.setattr(capture_queue, "_app", lambda: app)
    monkeypatch.setattr(capture_queue, "_client", None)
    client = redis.Redis.from_url(BROKER)
    yield prefix, client
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    app.close()


def _start_worker(prefix: str, log: Path) -> subprocess.Popen:
    environment = worker_environment(BROKER, CELERY_KEY_PREFIX=prefix, CAPTURE_QUEUE_SECONDS="2")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "govern", "worker", "-Q", "capture", "-n", f"capture-{prefix}@%h",
         "--pool", "threads", "--concurrency", "2", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel", "INFO", "--logfile", str(log)],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _wait_for(log: Path, worker: subprocess.Popen, *texts: str, timeout: float = 300) -> None:
    began = time.monotonic()
    while not (log.exists() and any(text in log.read_text() for text in texts)):
        assert worker.poll() is None, log.read_text() if log.exists() else "the worker exited"
        assert time.monotonic() - began < timeout, f"none of {texts} in the worker's log after {timeout} s"
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_the_capture_worker_runs_the_models_and_the_web_process_none(
    live, vans, astronaut, approvers, client, broker, monkeypatch, tmp_path
):
    prefix, redis_client = broker
    crop = engine_module.get_engine().detect(Image.open(io.BytesIO(astronaut)))[0].crop_jpeg()
    token = live_capture.issue_credential(approvers.superintendent, vans[0])
    _no_models_here(monkeypatch)
    log = tmp_path / "capture.log"
    worker = _start_worker(prefix, log)
    try:
        _wait_for(log, worker, "ready.")
        sent = client.post(URL, astronaut, content_type="image/jpeg", HTTP_AUTHORIZATION=f"Camera {token}")
        assert sent.status_code == 201, sent.content
        body = sent.json()
        assert (body["faces"], len(body["alerts"]), body["receipts"]) == (1, 1, 0)
        assert Capture.objects.get(pk=body["capture"]).alerts == 1
        crops = client.post(
            CROPS_URL,
            {"crop": [SimpleUploadedFile(name, crop, "image/jpeg") for name in ("a.jpg", "b.jpg")]},
            HTTP_AUTHORIZATION=f"Camera {token}",
        )
        assert crops.status_code == 201, crops.content
        assert crops.json()["faces"] == 2 and len(crops.json()["alerts"]) == 2

        # A refusal only the worker can make (its engine's approval) answers as before, and records nothing.
        EngineApproval.objects.all().delete()
        before = _recorded()
        refused = client.post(URL, astronaut, content_type="image/jpeg", HTTP_AUTHORIZATION=f"Camera {token}")
        assert refused.status_code == 403 and "not approved for live use" in refused.json()["detail"]
        assert _recorded() == before
        assert Event.objects.filter(action="capture.refused").latest("seq").target_id == str(live.pk)
    finally:
        stop(worker)
    text = log.read_text()
    # The worker loaded its engine as it started, before it said it was ready and took a frame.
    assert -1 < text.find("Capture worker: face engine InceptionResnetV1") < text.find(" ready.")
    assert text.count("succeeded") == 3 and text.count("'recorded'") == 2 and "'refused'" in text
    assert engine_module._engine is None  # the engine was loaded in the worker only
    # Nothing of a frame stays in Redis: the frames were taken, the answers popped.
    assert not [key for key in redis_client.scan_iter(f"{prefix}capture:*")]


@pytest.mark.django_db(transaction=True)
def test_no_capture_worker_answers_503_the_frame_is_withdrawn_and_nothing_is_recorded(
    live, vans, astronaut, approvers, client, broker, monkeypatch, tmp_path
):
    prefix, redis_client = broker
    token = live_capture.issue_credential(approvers.superintendent, vans[0])
    _no_models_here(monkeypatch)
    before = _recorded()
    began = time.monotonic()
    answered = client.post(URL, astronaut, content_type="image/jpeg", HTTP_AUTHORIZATION=f"Camera {token}")
    waited = time.monotonic() - began
    assert answered.status_code == 503, answered.content
    assert answered["Retry-After"] == "5"
    assert answered.json()["detail"].startswith("No capture worker took the frame within 2 s")
    assert 2 <= waited < 10
    assert _recorded() == before
    assert not [key for key in redis_client.scan_iter(f"{prefix}capture:*")]  # the frame is gone from Redis
    assert redis_client.llen(f"{prefix}capture") == 1  # only the job's message, naming no face

    # A worker that comes later finds the frame withdrawn, or (once its engine took longer to load than the message
    # may wait) the message expired, and records nothing.
    log = tmp_path / "capture.log"
    worker = _start_worker(prefix, log)
    try:
        _wait_for(log, worker, "'withdrawn'", "Discarding revoked task")
    finally:
        stop(worker)
    assert _recorded() == before


@pytest.mark.django_db
def test_a_frame_refused_by_the_web_process_costs_no_worker_call_and_answers_as_before(
    live, vans, astronaut, approvers, client, monkeypatch
):
    token = live_capture.issue_credential(approvers.superintendent, vans[0])
    elsewhere = live_capture.issue_credential(approvers.superintendent, vans[1])
    _no_models_here(monkeypatch)
    handed = []
    monkeypatch.setattr(capture_queue, "_hand_over", lambda *args: handed.append(args))
    before = _recorded()
    refusals = Event.objects.filter(action="capture.refused").count()
    camera = {"HTTP_AUTHORIZATION": f"Camera {token}"}

    not_booked = client.post(URL, astronaut, content_type="image/jpeg", HTTP_AUTHORIZATION=f"Camera {elsewhere}")
    assert not_booked.status_code == 403 and "is not booked on a deployment" in not_booked.json()["detail"]
    other = client.post(f"{URL}?deployment={live.pk + 1000}", astronaut, content_type="image/jpeg", **camera)
    assert other.status_code == 403 and f"not to deployment {live.pk + 1000}" in other.json()["detail"]
    bad = client.post(URL, b"not a jpeg", content_type="image/jpeg", **camera)
    assert bad.status_code == 400 and bad.json()["detail"].startswith("Frame refused:")
    no_crops = client.post(CROPS_URL, {}, **camera)
    assert no_crops.status_code == 400 and "send 1 to 64 crops" in no_crops.json()["detail"]
    bad_crop = client.post(CROPS_URL, {"crop": [SimpleUploadedFile("a.jpg", b"junk", "image/jpeg")]}, **camera)
    assert bad_crop.status_code == 400 and bad_crop.json()["detail"].startswith("Frame refused: crop 1:")
    assert client.post(URL, astronaut, content_type="image/jpeg").status_code == 401

    assert handed == []
    assert _recorded() == before
    assert Event.objects.filter(action="capture.refused").count() == refusals + 5  # each refusal logged, as before


@pytest.mark.django_db
def test_a_capture_worker_drops_a_stopped_deployments_list_with_its_next_frame_from_any_camera(
    live, vans, astronaut, actors
):
    """The web process refuses a stopped deployment's frames without a worker call, so the worker that holds the list
    drops it when its next admission reads that no live deployment uses it."""
    from apps.deployments import services as deployments

    live_capture.capture_frame(vans[0], astronaut)
    assert live.watchlist_id in enrolment.held_watchlists()
    deployments.emergency_stop(actors.privacy, "The van's feed is being intercepted.", live)
    live_capture.camera_for_asset(vans[1])  # another camera's frame, admitted by the worker
    assert live.watchlist_id not in enrolment.held_watchlists()


@pytest.mark.django_db(transaction=True)
def test_a_frame_sent_inside_a_transaction_is_matched_in_the_sending_process(live, vans, astronaut, broker):
    """The demo's seed posts frames through the API in-process for deployments it has not committed: a worker could
    see none of it (and would wait on its locks), so such a frame is matched where it was sent, with no worker."""
    from django.db import transaction

    camera = live_capture.camera_for_asset(vans[0])
    with transaction.atomic():
        result = capture_queue.submit_frame(camera, astronaut)
    assert (result.faces, len(result.alerts)) == (1, 1)
    assert Capture.objects.filter(pk=result.capture_id).exists()
