"""A watchlist's approval page shows the false alerts forecast for its size at the threshold in force, citing the
evaluation of the engine in force, and says so plainly when there is none."""

import pytest
from django.urls import reverse

from apps.oversight import forecast

pytestmark = pytest.mark.django_db
REASON = "Reviewing before tonight's deployment"


def _review_page(client, approver, watchlist) -> str:
    client.force_login(approver)
    page = client.get(reverse("watchlists:review", args=[watchlist.pk]), {"reason": REASON})
    assert page.status_code == 200
    return page.content.decode()


def test_without_an_evaluation_the_page_says_so(approvers, client, submitted):
    watchlist, _ = submitted
    page = _review_page(client, approvers.superintendent, watchlist)
    assert 'id="forecast"' in page and "No evaluation of the engine in force" in page


def test_the_forecast_for_this_lists_size_at_the_threshold_in_force(
    approvers, client, submitted, make_report, settings
):
    watchlist, review = submitted
    settings.EVALUATION_FOOTFALL = 100_000
    # 1 in 100,000 comparisons alerts at 0.600: one person on the list, 0.010 false alerts per 1,000 passers-by,
    # 1.0 over 100,000.
    report = make_report({"0.500": (100, 10**6), "0.600": (10, 10**6), "0.700": (0, 10**6)})
    page = _review_page(client, approvers.superintendent, watchlist)
    assert len(review.snapshot["entries"]) == 1
    assert "At the threshold in force, <strong>0.600</strong>, a list of <strong>1</strong> person" in page
    assert '<strong id="per-1000">0.010</strong>' in page and '<strong id="at-footfall">1.0</strong>' in page
    assert f"From evaluation {report.pk}:" in page and "footfall of 100000" in page
    assert "Within the ceiling" in page


def test_the_forecast_grows_with_the_list_and_says_when_it_is_above_the_ceiling(make_report, settings):
    settings.EVALUATION_MAX_FALSE_ALERTS_PER_1000 = 1
    make_report({"0.600": (10, 10**6)})
    small, large = forecast.forecast(10), forecast.forecast(10_000)
    assert small.figures["per_1000"] == pytest.approx(1000 * (1 - (1 - 1e-5) ** 10))
    assert large.figures["per_1000"] == pytest.approx(1000 * (1 - (1 - 1e-5) ** 10_000))
    assert small.safe and not large.safe
