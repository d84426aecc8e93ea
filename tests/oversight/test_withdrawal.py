"""Withdrawing an approval stops the deployments that use it (issue 25, point 4): a threshold or engine in force is
withdrawn by an authorising or privacy officer, with the reason, and the deployments that use it stop through the
emergency stop, the withdrawal as their reason."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.audit.models import Event
from apps.deployments import services as deployments
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment
from apps.matching.models import EngineApproval, EngineEvaluation
from apps.matching.services import engine_approval, live_capture
from apps.oversight import services
from apps.oversight.choices import ChangeKind, ChangeState
from govern.errors import Conflict
from tests.deployment_fixtures import EARLIER, plan_deployment

pytestmark = [pytest.mark.django_db]
WHY = "Laboratory retest of the engine shows a false-alert rate above the ceiling for one group."
EQUALITY = "Report section 4: FPIR by sex and by ethnicity within the confidence intervals."


def _in_force(actors, approvers, evidence, kind=ChangeKind.THRESHOLD, **fields):
    change = services.propose(
        approvers.superintendent,
        kind,
        reason=WHY,
        equality_evidence=EQUALITY,
        evidence=evidence(),
        evaluation=EngineEvaluation.objects.order_by("pk").first(),
        **fields,
    )
    return services.countersign(actors.privacy, change, note="Report read.")


@pytest.fixture
def at_another_threshold(actors, approvers, approved_watchlist, documents, vans, now):
    """An authorised deployment elsewhere, at 0.640: a withdrawn 0.600 does not touch it."""
    watchlist = approved_watchlist(
        approver=approvers.superintendent2,
        start=now - datetime.timedelta(minutes=30),
        end=now + datetime.timedelta(hours=4),
    )
    deployment = plan_deployment(
        actors.officer,
        watchlist,
        assets=[vans[1]],
        documents=documents,
        now=now - EARLIER,
        location_name="Brixton Road",
        latitude=Decimal("51.462000"),
        longitude=Decimal("-0.114000"),
        threshold=Decimal("0.640"),
    )
    return deployments.authorise(approvers.superintendent, deployment, revision=deployment.revision, now=now - EARLIER)


def test_withdrawing_a_threshold_stops_the_deployments_that_use_it(
    actors, approvers, evidence, engine_report, live, at_another_threshold, settings
):
    change = _in_force(actors, approvers, evidence, threshold="0.600")
    withdrawn = services.withdraw(actors.commander, change, reason="The retest shows it unsafe for the largest list.")
    assert withdrawn.state == ChangeState.WITHDRAWN
    assert services.current_threshold() == (settings.MATCH_THRESHOLD, None)
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.STOPPED
    assert Deployment.objects.get(pk=at_another_threshold.pk).state == DeploymentState.AUTHORISED
    stop = Event.objects.get(action="deployment.emergency_stop")
    assert stop.target_id == str(live.pk) and stop.data["withdrawn"] == "threshold v1"
    assert "Match threshold v1 (0.600) was withdrawn: The retest shows it unsafe" in stop.reason
    assert stop.data["force_wide"] is False  # only what used the threshold stopped
    assert Event.objects.get(action="governance.withdrawn").actor == actors.commander
    # One person's withdrawal brings back no default nobody countersigned: no threshold is in force, nothing goes live.
    refused = services.threshold_condition(Deployment.objects.get(pk=at_another_threshold.pk), timezone.now())
    assert not refused.ok and "No threshold is in force: version 1 (0.600) was withdrawn" in refused.detail
    with pytest.raises(Conflict):
        services.withdraw(actors.commander, withdrawn, reason="Withdrawing it again, which is refused.")


def test_withdrawing_the_engine_stops_every_deployment_and_frames_are_refused(actors, live, vans, astronaut):
    live_capture.capture_frame(vans[0], astronaut)
    stopped = engine_approval.withdraw_engine(actors.privacy, reason="The vendor recalled these weights.")
    assert [d.pk for d in stopped] == [live.pk]
    assert not EngineApproval.objects.exists()
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.STOPPED
    assert Event.objects.get(action="engine.withdraw").reason == "The vendor recalled these weights."
    assert "face engine" in Event.objects.get(action="deployment.emergency_stop").reason
    with pytest.raises(live_capture.CaptureRefused, match="stopped in an emergency"):
        live_capture.capture_frame(vans[0], astronaut)


def test_withdrawing_an_engine_change_withdraws_its_approval_and_stops_its_deployments(
    actors, approvers, evidence, engine_report, live
):
    change = _in_force(actors, approvers, evidence, kind=ChangeKind.ENGINE)
    services.withdraw(actors.privacy, change, reason="The vendor recalled these weights after a field failure.")
    assert not EngineApproval.objects.exists()
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.STOPPED
    assert Event.objects.get(action="deployment.emergency_stop").data["withdrawn"].startswith("the approval of")


@pytest.mark.parametrize("role", ["officer", "compiler", "oversight", "retail", "admin", "outsider"])
def test_other_roles_may_not_withdraw(actors, approvers, evidence, engine_report, live, role):
    change = _in_force(actors, approvers, evidence, threshold="0.600")
    with pytest.raises(PermissionDenied):
        services.withdraw(getattr(actors, role), change, reason="Withdrawing without the role to do so.")
    with pytest.raises(PermissionDenied):
        engine_approval.withdraw_engine(getattr(actors, role), reason="Withdrawing without the role.")
    assert type(change).objects.get(pk=change.pk).state == ChangeState.IN_FORCE and EngineApproval.objects.exists()
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.LIVE


def test_the_api_withdraws_and_refuses_other_roles(actors, approvers, evidence, engine_report, live, api):
    change = _in_force(actors, approvers, evidence, threshold="0.600")
    url = f"/api/oversight/changes/{change.pk}/withdraw/"
    body = {"reason": "The retest shows it unsafe for the largest list."}
    assert api(actors.oversight).post(url, body, format="json").status_code == 403
    answer = api(actors.privacy).post(url, body, format="json")
    assert answer.status_code == 200 and answer.json()["state"] == ChangeState.WITHDRAWN
    assert api(actors.privacy).post(url, body, format="json").status_code == 409
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.STOPPED


def test_the_page_names_the_deployments_it_stops_before_it_withdraws(
    actors, approvers, evidence, engine_report, live, client
):
    change = _in_force(actors, approvers, evidence, threshold="0.600")
    client.force_login(actors.commander)
    assert b"withdraw-form" in client.get("/oversight/governance/").content
    url = f"/oversight/governance/{change.pk}/withdraw/"
    body = {"reason": "The retest shows it unsafe for the largest list."}
    confirm = client.post(url, body)
    assert confirm.status_code == 200 and live.reference in confirm.content.decode()
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.LIVE
    client.post(url, {**body, "confirmed": "yes"})
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.STOPPED
