"""Oversight fixtures (a pytest plugin): a live deployment whose ledger holds one alert and two receipts."""

import numpy as np
import pytest

from apps.matching.models import WatchlistTemplate
from apps.matching.services import enrolment, live_capture

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
