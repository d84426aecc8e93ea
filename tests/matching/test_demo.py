"""The demo gets its figures as any deployment does: seed_demo posts its deployments' frames through the capture API
with a camera credential and judges their alerts through the services; `manage.py demo_camera` goes on filming the
live one over HTTP. The engine is uncalibrated, so the demo runs at threshold 1.000, where of what its camera shows
only the enrolled photographs alert (apps/matching/demo_camera.py; docs/benchmarks.md, The demo engine's scores).
"""

import io
import os
import signal
import socket
import threading
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.accounts.models import User
from apps.audit.models import Event
from apps.audit.verification import verify
from apps.deployments import demo as deployments_demo
from apps.deployments import services as deployments
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment, PublishedFigures
from apps.deployments.services import OUTCOME_FIELDS
from apps.matching import demo_camera
from apps.matching.choices import AlertState, Outcome
from apps.matching.models import Alert, CameraCredential, Capture, DeletionReceipt
from apps.matching.services import alert_handling, live_capture
from apps.oversight import services as oversight

pytestmark = pytest.mark.slow
DEMO = Deployment.objects.filter(grounds__startswith="SYNTHETIC DEMO")


@pytest.fixture
def demo_threshold(settings):
    """The threshold `make run` configures while the engine is uncalibrated (scripts/run.sh)."""
    settings.MATCH_THRESHOLD = Decimal("1.000")


def _seed(tmp_path) -> str:
    out = io.StringIO()
    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=tmp_path / "c.txt", stdout=out)
    return out.getvalue()


def _counted(deployment) -> dict:
    """The figures as counted here from the records, independently of alert_handling.refresh_figures."""
    alerts = Alert.objects.filter(deployment=deployment)
    return {
        "faces_processed": sum(Capture.objects.filter(deployment=deployment).values_list("faces", flat=True)),
        "alerts": alerts.count(),
        "true_alerts": alerts.filter(state__in=[AlertState.CONFIRMED, AlertState.ENGAGED, AlertState.CLOSED]).count(),
        "false_alerts": alerts.filter(state=AlertState.FALSE).count(),
        "engagements": alerts.filter(engaged_at__isnull=False).count(),
        "arrests": alerts.filter(outcome=Outcome.ARREST).count(),
        "other_outcomes": alerts.filter(outcome=Outcome.OTHER_ACTION).count(),
    }


@pytest.mark.django_db
def test_seed_demo_films_its_deployments_through_the_capture_api_and_judges_their_alerts(
    tmp_path, demo_threshold, client
):
    output = _seed(tmp_path)
    completed = list(DEMO.filter(state=DeploymentState.COMPLETED))
    assert len(completed) == 2
    for deployment in completed:
        counts = alert_handling.reconciliation(deployment)
        assert counts["reconciles"] and counts["alerts"] == 2 and counts["receipts"] >= 3, counts
        figures = PublishedFigures.objects.get(deployment=deployment)
        assert {field: getattr(figures, field) for field in OUTCOME_FIELDS} == _counted(deployment)
        assert figures.faces_processed == counts["faces"] > 0
        assert not Alert.objects.filter(deployment=deployment, state=AlertState.PENDING).exists()
        assert f"{deployment.reference} (completed, threshold 1.000): faces {counts['faces']} = alerts 2" in output
        assert "uncalibrated" in deployment.grounds and "threshold 1.000" in deployment.grounds
        assert deployment.threshold == Decimal("1.000")
    judged = Alert.objects.filter(deployment__in=completed)
    assert judged.filter(state=AlertState.FALSE).count() == 2  # the other listed subject's photograph, each time
    assert judged.filter(outcome=Outcome.ARREST).count() == 1 and judged.filter(engaged_at__isnull=False).count() == 2
    # Each frame came through a request of its own (the middleware gives each its id), with a van's credential.
    captures = Capture.objects.filter(deployment__in=DEMO)
    processed = Event.objects.filter(action="capture.processed")
    assert processed.count() == captures.count() == len(set(processed.values_list("request_id", flat=True))) == 13
    assert Event.objects.filter(action="camera.credential_issued").count() == 3
    assert not CameraCredential.objects.filter(revoked_at__isnull=True).exists()  # each revoked after its frames
    live = deployments_demo.live_now()
    assert alert_handling.reconciliation(live) == {"faces": 3, "alerts": 1, "receipts": 2, "reconciles": True}
    assert Alert.objects.get(deployment=live).state == AlertState.PENDING  # for the demo officer to judge

    public = client.get(reverse("public-deployments")).content.decode()
    assert 'id="uncalibrated-figures"' in public and "not recognition" in public

    events, alerts = Event.objects.count(), Alert.objects.count()
    _seed(tmp_path)
    assert (Event.objects.count(), Alert.objects.count(), DEMO.count()) == (events, alerts, 4)
    assert verify().ok


@pytest.mark.django_db
def test_at_the_demo_threshold_only_the_enrolled_photographs_alert(tmp_path, demo_threshold):
    _seed(tmp_path)
    live = deployments_demo.live_now()
    camera = demo_camera.InProcess(
        live_capture.issue_credential(User.objects.get(username="commander"), live.assets.get())
    )
    receipts_before = DeletionReceipt.objects.filter(deployment=live).count()
    passers_by = [camera.post(live.pk, demo_camera.passer_by(number).frame).body for number in range(100, 112)]
    assert all(body["faces"] >= 1 and body["alerts"] == [] for body in passers_by), passers_by
    faces = sum(body["faces"] for body in passers_by)
    best = DeletionReceipt.objects.filter(deployment=live).order_by("-best_score")
    assert best.count() - receipts_before == faces and best[0].best_score < 0.9999
    for index in range(deployments_demo.LISTED):
        body = camera.post(live.pk, demo_camera.enrolled_photograph(index).frame).body
        assert body["faces"] == 1 and len(body["alerts"]) == 1, body
        assert Alert.objects.get(pk=body["alerts"][0]).score >= 1.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _camera(**options) -> str:
    out = io.StringIO()
    call_command("demo_camera", force=True, stdout=out, **options)
    return out.getvalue()


def test_the_demo_camera_films_the_live_demo_deployment_over_http_until_stopped(
    transactional_db, live_server, tmp_path, demo_threshold
):
    _seed(tmp_path)
    live = deployments_demo.live_now()
    # The seed's credentials were revoked once their frames were sent: none stays valid after the seed.
    assert not CameraCredential.objects.filter(revoked_at__isnull=True).exists()
    assert Event.objects.filter(action="camera.credential_revoked").count() == 3

    output = _camera(url=live_server.url, frames=3, every=0, alert_every=2)
    assert "frame 1, " in output and "passer" in output.splitlines()[1]
    assert "frame 2, the enrolled photograph of 00/000101D: faces 1 = alerts 1 + deletion receipts 0: ALERT" in output
    assert "Demo camera stopped after 3 frames" in output
    counts = alert_handling.reconciliation(live)
    assert counts["reconciles"] and counts["alerts"] == 2 and counts["receipts"] >= 4, counts
    assert Capture.objects.filter(deployment=live).count() == 3 + 3
    assert Alert.objects.filter(deployment=live, state=AlertState.PENDING).count() == 2
    # Its own credential, issued through the service and logged, and revoked when it stopped.
    assert Event.objects.filter(action="camera.credential_issued").count() == 4
    own = CameraCredential.objects.order_by("-issued_at", "-id").first()
    assert own.revoked_at is not None and not CameraCredential.objects.filter(revoked_at__isnull=True).exists()
    last = Event.objects.filter(action="camera.credential_revoked").order_by("-seq").first()
    assert last.data["key_id"] == own.key_id and last.reason == "The demo camera stopped."

    # SIGTERM (as make run's trap sends) stops it after the frame in flight, and it says so.
    handler = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        output = _camera(url=live_server.url, every=0.2, alert_every=0)
    finally:
        timer.cancel()
    assert "Demo camera stopped after" in output and "ALERT" not in output
    assert signal.getsignal(signal.SIGTERM) == handler  # the one before it is put back

    # A server that does not answer is tried again, with a clear message, until the patience runs out.
    out = io.StringIO()
    with pytest.raises(CommandError, match="did not answer"):
        call_command("demo_camera", url=f"http://127.0.0.1:{_free_port()}", patience=2.5, force=True, stdout=out)
    assert "Govern is not answering at http://127.0.0.1:" in out.getvalue() and "trying again in 1 s" in out.getvalue()

    # With no demo deployment live, it says so and stops.
    deployments.complete(live)
    assert "No demo deployment is live now" in _camera(url=live_server.url)


@pytest.mark.django_db
def test_the_demo_camera_needs_debug_or_force(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo_camera", stdout=io.StringIO())


@pytest.mark.django_db
def test_a_database_seeded_at_another_threshold_gets_the_configured_one_in_force(tmp_path, settings):
    _seed(tmp_path)  # at the test settings' 0.600, as a database seeded before `make run` set 1.000
    assert oversight.current_threshold()[0] == Decimal("0.600")
    settings.MATCH_THRESHOLD = Decimal("1.000")
    _seed(tmp_path)
    threshold, change = oversight.current_threshold()
    assert threshold == Decimal("1.000") and change.decided_by.username == "privacy"
    assert "UNCALIBRATED" in change.reason
