"""Public records fixtures (a pytest plugin): a deployment that ran and completed with its figures from records, and
deployments announced ahead."""

import datetime

import pytest
from django.utils import timezone

from apps.deployments import services as deployments
from apps.matching.choices import IdentityCheck, Outcome
from apps.matching.models import Alert
from apps.matching.services import alert_handling, live_capture
from govern.roles import Rank, Role
from tests.deployment_fixtures import EARLIER, PLACE
from tests.oversight_fixtures import receipts_only

JUDGE = "pc-hartnell-4417"  # the officer who judges the alerts and stops the people: never on a public page


@pytest.fixture
def judge(make_user):
    """An officer with a name of their own: made before the live deployment, so they are on its team."""
    return make_user(JUDGE, Role.OFFICER, rank=Rank.CONSTABLE, first_name="Wilhelmina", last_name="Hartnell")


@pytest.fixture
def reported(judge, live, vans, astronaut):
    """The live deployment after three frames (two alerts, then a face destroyed with its receipt), both alerts
    judged true and the people stopped (one arrested, one found not to be the person sought), then completed at its
    end. Every figure comes from these records."""
    first = live_capture.capture_frame(vans[0], astronaut).alerts[0]
    second = live_capture.capture_frame(vans[0], astronaut).alerts[0]
    receipts_only(live)
    live_capture.capture_frame(vans[0], astronaut)
    for alert_id, outcome in ((first, Outcome.ARREST), (second, Outcome.FALSE_AFTER_ENGAGEMENT)):
        alert = Alert.objects.get(pk=alert_id)
        alert_handling.adjudicate(judge, alert, match=True, reason="The face and the scar match the custody image")
        alert_handling.engage(judge, alert)
        alert_handling.record_alert_outcome(
            judge, alert, outcome=outcome, identity_check=IdentityCheck.DOCUMENT, stop_minutes=12
        )
    return deployments.complete(live, now=live.end + datetime.timedelta(minutes=1))


def plan_ahead(planner, documents, *, start, hours=6, watchlist=None, **place):
    """A deployment planned days ago at Stratford (unless `place` says otherwise), with no list unless given one."""
    fields = {**PLACE, "location_name": "Stratford", "latitude": "51.5416", "longitude": "-0.0033", **place}
    return deployments.plan(
        planner,
        watchlist=watchlist,
        documents=documents,
        start=start,
        end=start + datetime.timedelta(hours=hours),
        now=timezone.now() - EARLIER,
        **fields,
    )
