"""The emergency stop (issue 25, point 4): a commander or the privacy officer stops one deployment, or every one of the
force, in one audited transaction with a reason; a stopped deployment neither resumes nor goes live again until it is
authorised anew; every other role is refused."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from apps.audit.models import Event
from apps.deployments import services
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment
from govern.errors import Conflict
from govern.policy import RoleRefused
from tests.deployment_fixtures import EARLIER, plan_deployment

pytestmark = pytest.mark.django_db

REASON = "Intelligence that the camera feed is being intercepted."


@pytest.fixture
def authorised_elsewhere(actors, approvers, approved_watchlist, documents, vans, now):
    """A second deployment, authorised (not yet live), at another place with the other van."""
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
        team=[actors.officer],
        now=now - EARLIER,
        location_name="Brixton Road",
        latitude=Decimal("51.462000"),
        longitude=Decimal("-0.114000"),
    )
    return services.authorise(approvers.superintendent, deployment, revision=deployment.revision, now=now - EARLIER)


def test_a_commander_stops_one_live_deployment_with_the_reason(actors, live):
    stopped = services.emergency_stop(actors.commander, REASON, live)
    assert [d.pk for d in stopped] == [live.pk]
    live.refresh_from_db()
    assert live.state == DeploymentState.STOPPED and live.status_reason == REASON
    assert not services.is_live(live)
    event = Event.objects.get(action="deployment.emergency_stop")
    assert event.actor == actors.commander and event.reason == REASON
    assert event.data["from_state"] == DeploymentState.LIVE and event.data["force_wide"] is False


def test_the_privacy_officer_stops_every_deployment_of_the_force_in_one_action(
    actors, live, authorised_elsewhere, planned
):
    stopped = services.emergency_stop(actors.privacy, REASON)
    assert {d.pk for d in stopped} == {live.pk, authorised_elsewhere.pk}
    states = dict(Deployment.objects.values_list("pk", "state"))
    assert states[live.pk] == states[authorised_elsewhere.pk] == DeploymentState.STOPPED
    assert states[planned.pk] == DeploymentState.PLANNED  # nothing of a plan runs: it is left alone
    events = Event.objects.filter(action="deployment.emergency_stop")
    assert events.count() == 2
    for event in events:
        assert event.data["force_wide"] is True and event.reason == REASON
        assert sorted(event.data["stopped_together"]) == sorted([live.reference, authorised_elsewhere.reference])
    assert len({event.request_id for event in events}) == 1  # one action


@pytest.mark.parametrize("role", ["officer", "compiler", "oversight", "retail", "admin", "outsider"])
def test_every_other_role_is_refused_and_nothing_stops(actors, live, role):
    with pytest.raises(RoleRefused):
        services.emergency_stop(getattr(actors, role), REASON, live)
    with pytest.raises(RoleRefused):
        services.emergency_stop(getattr(actors, role), REASON)
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.LIVE
    assert not Event.objects.filter(action="deployment.emergency_stop").exists()


def test_a_reason_is_required(actors, live):
    with pytest.raises(ValidationError):
        services.emergency_stop(actors.commander, "   ", live)
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.LIVE


def test_a_deployment_that_does_not_run_is_refused_with_a_conflict(actors, planned):
    with pytest.raises(Conflict):
        services.emergency_stop(actors.commander, REASON, planned)
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.PLANNED


def test_a_stopped_deployment_runs_again_only_by_a_new_authorisation(actors, approvers, live, now):
    services.emergency_stop(actors.commander, REASON, live)
    with pytest.raises(Conflict):
        services.resume(approvers.superintendent, live)
    with pytest.raises(Conflict):
        services.try_go_live(live, actor=approvers.superintendent, now=now)
    gate = {c.name: c for c in services.gate(Deployment.objects.get(pk=live.pk), now)}
    assert not gate["authorisation"].ok and "new authorisation" in gate["authorisation"].detail

    services.authorise(approvers.superintendent2, live, revision=live.revision, now=now)
    went, conditions = services.try_go_live(live, actor=approvers.superintendent2, now=now)
    assert went, [c for c in conditions if not c.ok]
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.LIVE


def test_a_stopped_deployment_that_ran_completes_at_its_end_and_its_list_purge_is_set(actors, live):
    services.emergency_stop(actors.commander, REASON, live)
    services.run_schedule(now=live.end + datetime.timedelta(minutes=1))
    live.refresh_from_db()
    assert live.state == DeploymentState.COMPLETED
    assert live.watchlist.purge_due_at is not None


def test_one_that_ran_then_was_authorised_anew_completes_at_its_end_and_one_never_run_is_not_ended_early(
    actors, live, authorised_elsewhere
):
    # Stopped before it ever went live: it cannot be ended early as if it had run (it is cancelled instead).
    services.emergency_stop(actors.commander, REASON, authorised_elsewhere)
    with pytest.raises(Conflict, match="has not run"):
        services.end_early(actors.officer, authorised_elsewhere, reason="Ending what never ran.")
    services.emergency_stop(actors.commander, REASON, live)
    # Authorised anew, but its end comes before it goes live again: it ran, so it completes (never "missed").
    Deployment.objects.filter(pk=live.pk).update(state=DeploymentState.AUTHORISED)
    services.run_schedule(now=live.end + datetime.timedelta(minutes=1))
    live.refresh_from_db()
    assert live.state == DeploymentState.COMPLETED and live.watchlist.purge_due_at is not None


def test_the_command_stops_as_the_named_user(actors, live):
    call_command("emergency_stop", "--deployment", live.reference, "--reason", REASON, "--by", "privacy")
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.STOPPED
    assert Event.objects.get(action="deployment.emergency_stop").actor == actors.privacy


def test_the_command_refuses_a_user_who_may_not_stop(actors, live):
    with pytest.raises(CommandError):
        call_command("emergency_stop", "--reason", REASON, "--by", "officer")
    with pytest.raises(CommandError):
        call_command("emergency_stop", "--reason", REASON, "--by", "nobody-here")
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.LIVE


# --- The surfaces: the API and the pages ------------------------------------------------------------------------------


def test_the_api_stops_one_deployment_and_refuses_every_other_role(actors, api, live):
    url = f"/api/deployments/deployments/{live.pk}/emergency-stop/"
    for role in ("officer", "compiler", "oversight"):
        assert api(getattr(actors, role)).post(url, {"reason": REASON}, format="json").status_code == 403
    assert api(actors.commander).post(url, {"reason": ""}, format="json").status_code == 400
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.LIVE
    answer = api(actors.commander).post(url, {"reason": REASON}, format="json")
    assert answer.status_code == 200 and answer.json()["state"] == DeploymentState.STOPPED
    assert (
        api(actors.commander).post(url, {"reason": REASON}, format="json").status_code == 409
    )  # nothing of it runs now


def test_the_api_stops_the_whole_force_in_one_call(actors, api, live, authorised_elsewhere):
    url = "/api/deployments/deployments/emergency-stop/"
    assert api(actors.officer).post(url, {"reason": REASON}, format="json").status_code == 403
    answer = api(actors.privacy).post(url, {"reason": REASON}, format="json")
    assert answer.status_code == 200
    assert sorted(answer.json()["stopped"]) == sorted([live.reference, authorised_elsewhere.reference])
    assert api(actors.privacy).post(url, {"reason": REASON}, format="json").json() == {"stopped": []}


def test_the_openapi_documents_both_stops(api, actors):
    paths = api(actors.commander).get("/api/schema/", {"format": "json"}).json()["paths"]
    assert "post" in paths["/api/deployments/deployments/emergency-stop/"]
    assert "post" in paths["/api/deployments/deployments/{id}/emergency-stop/"]


def test_the_deployment_page_confirms_what_the_stop_does_before_it_stops(actors, client, live):
    client.force_login(actors.commander)
    page = client.get(f"/deployments/{live.pk}/")
    assert b'id="emergency-stop"' in page.content
    url = f"/deployments/{live.pk}/emergency-stop/"
    confirm = client.post(url, {"reason": REASON})
    assert confirm.status_code == 200 and "next frame is refused" in confirm.content.decode()
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.LIVE  # not yet: it asks first
    client.post(url, {"reason": REASON, "confirmed": "yes"})
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.STOPPED


def test_the_list_page_stops_all_live_capture_after_naming_what_runs(actors, client, live, authorised_elsewhere):
    client.force_login(actors.privacy)
    assert b'id="stop-all-form"' in client.get("/deployments/").content
    confirm = client.post("/deployments/stop-all/", {"reason": REASON}).content.decode()
    assert live.reference in confirm and authorised_elsewhere.reference in confirm
    assert not Deployment.objects.filter(state=DeploymentState.STOPPED).exists()
    client.post("/deployments/stop-all/", {"reason": REASON, "confirmed": "yes"})
    assert Deployment.objects.filter(state=DeploymentState.STOPPED).count() == 2


def test_the_pages_offer_no_stop_to_other_roles_and_refuse_them(actors, client, live):
    client.force_login(actors.officer)
    assert b"stop-all-form" not in client.get("/deployments/").content
    assert b'id="emergency-stop"' not in client.get(f"/deployments/{live.pk}/").content
    assert client.post("/deployments/stop-all/", {"reason": REASON, "confirmed": "yes"}).status_code == 403
    answer = client.post(f"/deployments/{live.pk}/emergency-stop/", {"reason": REASON, "confirmed": "yes"})
    assert answer.status_code == 403
    assert Deployment.objects.get(pk=live.pk).state == DeploymentState.LIVE


def test_a_stopped_deployment_that_never_ran_is_cancelled_at_its_end(actors, authorised_elsewhere):
    services.emergency_stop(actors.commander, REASON, authorised_elsewhere)
    services.run_schedule(now=authorised_elsewhere.end + datetime.timedelta(minutes=1))
    assert Deployment.objects.get(pk=authorised_elsewhere.pk).state == DeploymentState.CANCELLED


def test_the_public_notice_shows_a_stopped_deployment_as_suspended(actors, live):
    from apps.public import reports

    services.emergency_stop(actors.commander, REASON, live)
    assert [notice["status"] for notice in reports.notices()] == ["suspended"]
