"""The threshold gate holds for lists approved after it (issue 24, point 2): a threshold shown safe for the lists of
its day is checked again, at a list's own size, when a larger list is approved and when a deployment of a list is
authorised, on the service, the API and the page alike; only where a computed evaluation of the engine in force is
what the threshold in force rests on (the configured default, as the dlib demo runs, has none)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.deployments import services as deployments
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment
from apps.oversight import services
from apps.oversight.choices import ChangeKind
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Watchlist
from apps.watchlists.services import watchlists
from tests.watchlist_fixtures import compile_watchlist, list_person

pytestmark = [pytest.mark.django_db]
WHY = "Laboratory retest of the engine at 0.65 shows lower FPIR with no demographic imbalance."
EQUALITY = "Report section 4: FPIR by sex and by ethnicity within the confidence intervals at 0.65."
REASON = "Deciding on the list for the deployment"
# No false match in a million comparisons at 0.650: up to 3.84e-6 (Wilson), 0.0038 false alerts per 1,000 passers-by
# for one entry, 0.0077 for two: safe for one within a ceiling of 0.005, not for two.
ONE_IN_A_MILLION = {"0.650": (0, 10**6)}


@pytest.fixture
def governed(actors, approvers, make_report, evidence, settings):
    """The threshold 0.650 in force, countersigned, on an evaluation of the engine in force that shows it safe for
    one entry and not for two; no waiver for the uncalibrated test engine (as a force running a real engine)."""
    settings.EVALUATION_LIST_SIZE, settings.EVALUATION_MAX_FALSE_ALERTS_PER_1000 = 1, Decimal("0.005")
    settings.FACE_ALLOW_UNCALIBRATED = False
    change = services.propose(
        approvers.superintendent, ChangeKind.THRESHOLD, reason=WHY, equality_evidence=EQUALITY, evidence=evidence(),
        threshold="0.650", evaluation=make_report(ONE_IN_A_MILLION),
    )  # fmt: skip
    return services.countersign(actors.privacy, change, note="Report read.")


@pytest.fixture
def two_entries(actors, gallery, now):
    """A list of two people, submitted: its review."""
    watchlist = compile_watchlist(actors.compiler, *gallery.adult, now=now)
    list_person(actors.compiler, watchlist, *gallery.other, now=now)
    return watchlists.submit(actors.compiler, watchlist, now=now)


def _state(review) -> str:
    return Watchlist.objects.get(pk=review.watchlist_id).state


def test_a_list_too_large_for_the_threshold_in_force_is_not_approved_by_the_service(governed, approvers, two_entries):
    with pytest.raises(ValidationError, match=r"a list of 2: at the threshold in force 0\.650, evaluation \d+"):
        watchlists.approve(approvers.superintendent, two_entries.watchlist, content_hash=two_entries.content_hash)
    assert _state(two_entries) == WatchlistState.SUBMITTED


def test_the_api_and_the_page_refuse_it_alike(governed, approvers, two_entries, api, client):
    url = f"/api/watchlists/watchlists/{two_entries.watchlist_id}/approve/"
    answer = api(approvers.superintendent).post(url, {"content_hash": two_entries.content_hash}, format="json")
    assert answer.status_code == 400 and "a list of 2" in str(answer.json())
    client.force_login(approvers.superintendent)
    body = {"content_hash": two_entries.content_hash, "decision": "approve", "route": "standard", "confirmed": "yes"}
    page = client.post(f"{reverse('watchlists:review', args=[two_entries.watchlist_id])}?reason={REASON}", body)
    assert "a list of 2" in page.content.decode()
    assert _state(two_entries) == WatchlistState.SUBMITTED


def test_a_list_the_threshold_was_shown_safe_for_is_approved(governed, approvers, approved_watchlist):
    assert approved_watchlist().state == WatchlistState.APPROVED  # one entry


def test_without_a_governed_evaluation_or_with_the_uncalibrated_waiver_nothing_is_checked(
    approvers, two_entries, governed, settings
):
    settings.FACE_ALLOW_UNCALIBRATED = True  # the threshold's own gate waives it alike
    watchlists.approve(approvers.superintendent, two_entries.watchlist, content_hash=two_entries.content_hash)
    assert _state(two_entries) == WatchlistState.APPROVED


def test_the_configured_default_threshold_has_no_evaluation_to_check(approvers, two_entries, settings):
    settings.EVALUATION_MAX_FALSE_ALERTS_PER_1000, settings.FACE_ALLOW_UNCALIBRATED = Decimal("0"), False
    watchlists.approve(approvers.superintendent, two_entries.watchlist, content_hash=two_entries.content_hash)
    assert _state(two_entries) == WatchlistState.APPROVED


@pytest.fixture
def planned_then_tightened(planned, governed, settings):
    """A planned deployment of a one-entry list; the ceiling since lowered below that list's forecast."""
    settings.EVALUATION_MAX_FALSE_ALERTS_PER_1000 = Decimal("0.001")
    return planned


def test_authorising_a_deployment_checks_its_list_again_on_every_surface(
    planned_then_tightened, approvers, api, client, now
):
    planned = planned_then_tightened
    with pytest.raises(ValidationError, match="a list of 1"):
        deployments.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    client_api = api(approvers.superintendent)
    etag = client_api.get(f"/api/deployments/deployments/{planned.pk}/")["ETag"]
    answer = client_api.post(f"/api/deployments/deployments/{planned.pk}/authorise/", HTTP_IF_MATCH=etag)
    assert answer.status_code == 400 and "a list of 1" in str(answer.json())
    client.force_login(approvers.superintendent)
    body = {"revision": planned.revision, "confirmed": "yes"}
    page = client.post(f"/deployments/{planned.pk}/authorise/", body, follow=True)
    assert "a list of 1" in page.content.decode()
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.PLANNED


def test_a_deployment_within_the_ceiling_is_authorised(planned, governed, approvers, now):
    authorised = deployments.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    assert authorised.state == DeploymentState.AUTHORISED and authorised.start > now - datetime.timedelta(days=1)


def test_after_the_engine_changed_the_engine_in_forces_own_evaluation_is_what_counts(governed, approvers, two_entries):
    from apps.matching.models import EngineEvaluation
    from apps.oversight import forecast

    # The threshold in force was shown safe on another engine's figures (the engine changed since), and the engine
    # in force has no evaluation of its own: approval is refused, not waved through unchecked.
    EngineEvaluation.objects.filter(pk=governed.evaluation_id).update(engine_name="another-engine")
    refusal = forecast.list_size_refusal(two_entries.watchlist, 1)
    assert refusal and "shown safe on another engine's figures" in refusal
    with pytest.raises(ValidationError, match="another engine's figures"):
        watchlists.approve(approvers.superintendent, two_entries.watchlist, content_hash=two_entries.content_hash)
    assert _state(two_entries) == WatchlistState.SUBMITTED
