"""A deployment's bundle carries the decisions it ran under and the verifier recomputes its published figures from
its events (issue 22)."""

import json
import zipfile

import pytest

from apps.deployments.models import PublishedFigures
from apps.matching.choices import Outcome
from apps.matching.models import Alert
from apps.matching.services import alert_handling
from apps.oversight import bundles

from .test_bundle import _rewrite, _verify

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
SAME = "Same person: scar and ears"


@pytest.fixture
def stopped(actors, ledgered):
    """The ledgered deployment's alert judged, the person stopped and arrested."""
    alert = Alert.objects.get(pk=ledgered.alert_id)
    alert_handling.adjudicate(actors.officer, alert, match=True, reason=SAME, perceived_sex="male")
    alert_handling.engage(actors.officer, alert)
    alert_handling.record_alert_outcome(
        actors.officer, alert, outcome=Outcome.ARREST, identity_check="fingerprint", stop_minutes=7
    )
    return ledgered


def _bundle(actors, deployment, tmp_path):
    content, _manifest = bundles.build(actors.privacy, bundles.Scope(deployment=deployment))
    path = tmp_path / "bundle.zip"
    path.write_bytes(content)
    return path


def test_the_bundle_carries_the_decisions_and_the_verifier_recomputes_the_figures(actors, stopped, tmp_path):
    path = _bundle(actors, stopped, tmp_path)
    status, report = _verify(path)
    assert status == 0, report
    assert "authorised by supt" in report and f"list hash {stopped.authorised_watchlist_hash}" in report
    assert "list version 1 approved by supt" in report and "uncalibrated-seed0" in report
    recomputed = (
        "the published figures are the ones recomputed from the events: {'faces_processed': 3, 'alerts': 1, "
        "'true_alerts': 1, 'false_alerts': 0, 'engagements': 1, 'arrests': 1, 'other_outcomes': 0}"
    )
    assert recomputed in report
    with zipfile.ZipFile(path) as archive:
        statement = json.loads(archive.read("scope.json"))["statement"]
    actions = [decision["action"] for decision in statement["decisions"]]
    assert {"deployment.authorise", "watchlist.approve", "engine.approve"} <= set(actions)


def test_figures_that_differ_from_the_events_are_named(actors, stopped, tmp_path):
    PublishedFigures.objects.filter(deployment=stopped).update(arrests=2, faces_processed=5)  # typed behind the code
    status, report = _verify(_bundle(actors, stopped, tmp_path))
    assert status == 1
    assert "faces_processed: published 5, recomputed 3" in report and "arrests: published 2, recomputed 1" in report


def test_a_decision_withheld_from_the_bundle_fails(actors, stopped, tmp_path):
    path = _bundle(actors, stopped, tmp_path)

    def drop_decisions(files):
        files["decisions.jsonl"] = b""

    _rewrite(path, drop_decisions)
    status, report = _verify(path)
    assert status == 1 and "FAIL  decision, event" in report
