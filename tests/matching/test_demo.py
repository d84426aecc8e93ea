"""The demo gets its figures as any deployment does: seed_demo posts its deployments' frames through the capture API
with a camera credential and judges their alerts through the services. The engine is uncalibrated, so the demo runs
at threshold 1.000, where of what its camera shows only the enrolled photographs alert (apps/matching/demo_camera.py;
docs/benchmarks.md, The demo engine's scores).
"""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.accounts.models import User
from apps.audit.models import Event
from apps.audit.verification import verify
from apps.deployments import demo as deployments_demo
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment, PublishedFigures
from apps.deployments.services import OUTCOME_FIELDS
from apps.matching import demo_camera
from apps.matching.choices import AlertState, Outcome
from apps.matching.models import Alert, Capture, DeletionReceipt
from apps.matching.services import alert_handling, live_capture

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
