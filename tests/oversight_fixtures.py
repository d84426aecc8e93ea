"""Oversight fixtures (a pytest plugin): a live deployment whose ledger holds one alert and two receipts."""

import numpy as np
import pytest

from apps.matching.choices import Outcome
from apps.matching.models import Alert, WatchlistTemplate
from apps.matching.services import alert_handling, enrolment, live_capture

EVIDENCE_TEXT = b"NPL-style test report: TPIR 89%, FPIR 1/6000 at 0.6; no significant difference by sex or ethnicity."


def receipts_only(deployment) -> None:
    """Point the list's template elsewhere so the next faces are not matched (the engine is uncalibrated)."""
    other = np.random.default_rng(11).normal(size=512).astype(np.float32)
    WatchlistTemplate.objects.filter(watchlist=deployment.watchlist).update(
        embedding=(other / np.linalg.norm(other)).tolist()
    )
    enrolment.templates.cache_clear()


@pytest.fixture
def ledgered(live, vans, astronaut):
    """The live deployment after three frames: one alert, then two faces destroyed with receipts."""
    first = live_capture.capture_frame(vans[0], astronaut)
    receipts_only(live)
    live_capture.capture_frame(vans[0], astronaut)
    live_capture.capture_frame(vans[0], astronaut)
    live.alert_id = first.alerts[0]
    return live


@pytest.fixture
def evidence():
    """An uploaded test report."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def make(content=EVIDENCE_TEXT, name="npl-report.txt", content_type="text/plain"):
        return SimpleUploadedFile(name, content, content_type=content_type)

    return make


@pytest.fixture
def arrested(actors, ledgered):
    """The ledgered deployment's alert judged a match, the person stopped and arrested."""
    alert = Alert.objects.get(pk=ledgered.alert_id)
    alert_handling.adjudicate(actors.officer, alert, match=True, reason="Same person: scar and ears")
    alert_handling.engage(actors.officer, alert)
    alert_handling.record_alert_outcome(
        actors.officer, alert, outcome=Outcome.ARREST, identity_check="fingerprint", stop_minutes=7
    )
    return alert


def synthetic_figures(fmr_by_threshold: dict[str, tuple[int, int]]) -> dict:
    """SYNTHETIC report figures: at each threshold, k of n non-mated comparisons alerting (what the gate reads)."""
    from apps.matching import evaluation

    rows = [
        {
            "threshold": threshold,
            "tpir": evaluation.rate(90, 100),
            "fpir": {},
            "fmr": evaluation.rate(k, n),
            "forecast": {},
            "groups": {},
        }
        for threshold, (k, n) in sorted(fmr_by_threshold.items())
    ]
    return {"images": 1000, "identities": 500, "gallery": 100, "separates": True, "thresholds": rows}


def create_report(fmr_by_threshold=None, weights=None):
    """An evaluation of the engine in force (or of `weights`) with SYNTHETIC figures, as evaluate_engine stores it; by
    default nothing alerts in 10^8 comparisons from 0.600 up, safe at any list size the tests use."""
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.matching.models import EngineEvaluation
    from apps.matching.services import engine_approval

    name, in_force, _ = engine_approval.engine_identity()
    if fmr_by_threshold is None:
        fmr_by_threshold = {f"{step / 100:.3f}": (0, 10**8) for step in range(60, 101)}
    runner = User.objects.filter(username="evaluator").first() or User.objects.create(username="evaluator")
    return EngineEvaluation.objects.create(
        engine_name=name,
        engine_weights_sha256=weights or in_force,
        set_name="SYNTHETIC TEST FIGURES",
        set_sha256="0" * 64,
        thresholds=sorted(fmr_by_threshold),
        figures=synthetic_figures(fmr_by_threshold),
        run_by=runner,
        run_at=timezone.now(),
    )


@pytest.fixture
def make_report():
    """create_report, for a test."""
    return create_report


@pytest.fixture
def engine_report(make_report):
    """A safe evaluation of the engine in force to cite."""
    return make_report()
