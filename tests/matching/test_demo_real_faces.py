"""The demo on dlib's engine (the settings' choice without facenet's weights, and `make run`'s): its lists hold the
stand-in, an invented subject whose custody image is Barack Obama's public-domain portrait; its camera shows another
photograph of him (an alert the officer judges true) and Joe Biden and Eileen Collins passing by (receipts); a
retrospective search of a third photograph ranks his custody image first. Scores seen: the stand-in 0.964 to 0.968,
passers-by 0.795 to 0.822 (frames 0 to 39), the search's first 0.97. The demo's evaluation (five photographs) is too
small for the gate to call 0.900 safe: it refuses, and the configured threshold stays in force as the default.
"""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.accounts.models import User
from apps.deployments import demo as deployments_demo
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment
from apps.matching import demo as matching_demo
from apps.matching import demo_camera
from apps.matching.choices import AlertState
from apps.matching.models import Alert, DeletionReceipt, EngineApproval, EngineEvaluation, Probe, SearchRequest
from apps.matching.services import alert_handling, live_capture
from apps.oversight import demo as oversight_demo
from apps.oversight import services as oversight
from apps.oversight.choices import ChangeKind, ChangeState
from apps.oversight.models import GovernedChange
from apps.watchlists import demo as watchlist_demo
from apps.watchlists.models import Subject
from tests.matching.test_real_faces import dlib, dlib_engine  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
DEMO = Deployment.objects.filter(grounds__startswith="SYNTHETIC DEMO")
THRESHOLD = Decimal("0.900")


@pytest.fixture
def real_demo(dlib, settings):  # noqa: F811
    """What `make run` configures without facenet's weights: dlib's engine at threshold 0.900."""
    settings.FACE_UNCALIBRATED = False
    settings.MATCH_THRESHOLD = THRESHOLD


def _seed(tmp_path) -> str:
    out = io.StringIO()
    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=tmp_path / "c.txt", stdout=out)
    return out.getvalue()


def test_the_demo_on_dlib_alerts_on_the_listed_stand_in_and_leaves_receipts_for_everyone_else(
    tmp_path, real_demo, client
):
    output = _seed(tmp_path)
    stand_in = Subject.objects.get(pnc_id=watchlist_demo.STAND_IN_PNC)
    for deployment in DEMO.filter(state__in=[DeploymentState.LIVE, DeploymentState.COMPLETED]):
        assert deployment.threshold == THRESHOLD and "recognises people" in deployment.grounds
        assert list(deployment.watchlist.entries.values_list("subject", flat=True)) == [stand_in.pk]
        counts = alert_handling.reconciliation(deployment)
        assert counts["reconciles"] and counts["receipts"] >= 2, counts
    alerts = Alert.objects.filter(deployment__in=DEMO)
    assert alerts.count() == 5  # two in each completed deployment, one in the live one
    assert set(alerts.values_list("subject", flat=True)) == {stand_in.pk}
    assert all(0.93 < alert.score < 1 for alert in alerts) and alerts.first().engine == "dlib-resnet-v1/mtcnn"
    assert not alerts.filter(state=AlertState.FALSE).exists()  # every alert was the stand-in's photograph
    assert alerts.filter(state=AlertState.PENDING).count() == 1  # the live one's, for the officer to judge
    receipts = DeletionReceipt.objects.filter(deployment__in=DEMO)
    assert receipts.count() >= 8 and max(receipts.values_list("best_score", flat=True)) < 0.85
    assert "faces" in output and "threshold 0.900" in output

    # The engine is approved for the demo, as before; the gate refused to call 0.900 safe on five photographs.
    assert EngineApproval.objects.filter(name="dlib-resnet-v1/mtcnn").exists()
    report = EngineEvaluation.objects.get(set_name=oversight_demo.REAL_SET)
    assert (report.figures["images"], report.figures["identities"], report.figures["gallery"]) == (5, 3, 1)
    row = next(row for row in report.figures["thresholds"] if row["threshold"] == "0.900")
    assert (row["tpir"]["k"], row["tpir"]["n"], row["fmr"]["k"], row["fmr"]["n"]) == (2, 2, 0, 2)
    assert "The governance gate refused the demo's match threshold change" in output
    assert not GovernedChange.objects.filter(kind=ChangeKind.THRESHOLD).exclude(state=ChangeState.REJECTED).exists()
    assert oversight.current_threshold() == (THRESHOLD, None)
    assert "Threshold 0.900 in force by the configured default" in output

    # The retrospective demo search ranks the stand-in's custody image first.
    request = SearchRequest.objects.get(incident_reference=matching_demo.SEARCH_INCIDENT)
    candidates = Probe.objects.get(request=request).candidates
    assert candidates[0]["subject"] == stand_in.pk and candidates[0]["score"] > 0.93
    assert all(candidate["score"] < 0.9 for candidate in candidates[1:]) and len(candidates) >= 2
    assert f"first {watchlist_demo.STAND_IN_PNC} at 0.9" in output

    page = client.get(reverse("login")).content.decode()
    assert 'id="engine-banner"' in page and "uncalibrated-banner" not in page

    counted = (Alert.objects.count(), SearchRequest.objects.count(), DEMO.count(), Subject.objects.count())
    _seed(tmp_path)
    assert (Alert.objects.count(), SearchRequest.objects.count(), DEMO.count(), Subject.objects.count()) == counted


def test_the_demo_camera_on_dlib_alerts_only_on_the_stand_in(tmp_path, real_demo):
    _seed(tmp_path)
    live = deployments_demo.live_now()
    camera = demo_camera.InProcess(
        live_capture.issue_credential(User.objects.get(username="commander"), live.assets.get())
    )
    before = DeletionReceipt.objects.filter(deployment=live).count()
    passers_by = [camera.post(live.pk, demo_camera.passer_by(number).frame).body for number in range(100, 110)]
    assert all(body["faces"] >= 1 and body["alerts"] == [] for body in passers_by), passers_by
    assert DeletionReceipt.objects.filter(deployment=live).count() - before == sum(b["faces"] for b in passers_by)
    for number in range(3):
        shot = demo_camera.shot(number, alert_every=1)
        body = camera.post(live.pk, shot.frame).body
        assert shot.subject == watchlist_demo.STAND_IN_PNC and body["faces"] == 1 and len(body["alerts"]) == 1, body


def test_a_database_seeded_on_the_uncalibrated_engine_says_why_the_demo_does_not_go_live_on_dlib(
    tmp_path,
    settings,
    monkeypatch,
    dlib_engine,  # noqa: F811
):
    from apps.matching import engine
    from apps.matching.services import enrolment

    settings.MATCH_THRESHOLD = Decimal("1.000")
    _seed(tmp_path)  # the uncalibrated demo puts 1.000 in force by a countersigned change
    assert oversight.current_threshold()[1] is not None
    settings.FACE_ENGINE, settings.FACE_UNCALIBRATED, settings.MATCH_THRESHOLD = "dlib", False, THRESHOLD
    monkeypatch.setattr(engine, "_engine", dlib_engine)
    enrolment.templates.cache_clear()
    output = _seed(tmp_path)
    assert "The governance gate refused the demo's match threshold change" in output
    assert "Threshold 1.000 in force by a countersigned change" in output
    assert "will not go live: start from an empty database, or set MATCH_THRESHOLD=1.000" in output
    enrolment.templates.cache_clear()


def test_below_the_demo_threshold_on_dlib_the_passers_by_alert_and_the_seed_says_why(tmp_path, real_demo, settings):
    settings.MATCH_THRESHOLD = Decimal("0.600")  # seed_demo run without `make run`: the settings' default
    output = _seed(tmp_path)
    false_alerts = Alert.objects.filter(deployment__in=DEMO, state=AlertState.FALSE)
    assert false_alerts.exists()  # passers-by alerted on the stand-in, and the officer judged them false
    assert "below 0.900 the demo's passers-by alert too; `make run` sets MATCH_THRESHOLD=0.900" in output
