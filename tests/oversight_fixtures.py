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
