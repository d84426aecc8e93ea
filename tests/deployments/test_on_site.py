"""Going live and ending early: the officers who run a deployment on site (its team) may, as may a commander; another
officer may not; ending early needs a reason, is logged, and starts the list's purge from then (issue 23)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import Event
from apps.deployments import services
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Watchlist
from govern.errors import Conflict
from govern.roles import Rank, Role
from tests.deployment_fixtures import EARLIER, enrol_on_engine_in_use, plan_deployment, ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def due(actors, approvers, approved_watchlist, documents, vans, engine_approved, now):
    """Authorised and ready, its period begun half an hour ago: it goes live when someone says so."""
    watchlist = approved_watchlist(
        approver=approvers.superintendent2,
        start=now - datetime.timedelta(minutes=30),
        end=now + datetime.timedelta(hours=4),
    )
    deployment = plan_deployment(
        actors.officer, watchlist, assets=[vans[0]], documents=documents, team=[actors.officer], now=now - EARLIER
    )
    services.authorise(approvers.superintendent, deployment, revision=deployment.revision, now=now - EARLIER)
    ready(deployment, actors.officer, now)
    enrol_on_engine_in_use(watchlist)
    return Deployment.objects.get(pk=deployment.pk)


def test_an_officer_of_the_team_takes_it_live_through_the_api(actors, api, due):
    answer = api(actors.officer).post(f"/api/deployments/deployments/{due.pk}/go-live/")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["state"] == DeploymentState.LIVE
    assert Event.objects.get(action="deployment.go_live").actor == actors.officer


def test_an_officer_of_another_team_may_not_take_it_live(api, make_user, due):
    stranger = make_user("stranger", Role.OFFICER, rank=Rank.CONSTABLE)
    answer = api(stranger).post(f"/api/deployments/deployments/{due.pk}/go-live/")
    assert answer.status_code == 403
    assert "team" in answer.json()["detail"] and "suspend" not in answer.json()["detail"].lower()
    assert Deployment.objects.get(pk=due.pk).state == DeploymentState.AUTHORISED


def test_a_commander_still_takes_any_deployment_live(approvers, due):
    went, _ = services.try_go_live(due, actor=approvers.superintendent2)
    assert went


def test_ending_early_through_the_api(actors, api, due, now):
    services.try_go_live(due, actor=actors.officer)
    url = f"/api/deployments/deployments/{due.pk}/end-early/"
    assert api(actors.officer).post(url, {"reason": " "}, format="json").status_code == 400
    assert Deployment.objects.get(pk=due.pk).state == DeploymentState.LIVE
    answer = api(actors.officer).post(url, {"reason": "The man sought was arrested at 10:02."}, format="json")
    assert answer.status_code == 200, answer.json()
    ended = Deployment.objects.get(pk=due.pk)
    assert ended.state == DeploymentState.COMPLETED and ended.completed_at < ended.end
    assert ended.status_reason == "The man sought was arrested at 10:02." and not services.is_live(ended)
    event = Event.objects.get(action="deployment.end_early")
    assert event.actor == actors.officer and event.reason == "The man sought was arrested at 10:02."
    assert event.data["from_state"] == DeploymentState.LIVE
    watchlist = Watchlist.objects.get(pk=ended.watchlist_id)
    assert watchlist.state == WatchlistState.EXPIRED
    assert watchlist.purge_due_at < ended.end + datetime.timedelta(hours=24)  # from the real end, not the planned
    again = api(actors.officer).post(url, {"reason": "Twice."}, format="json")
    assert again.status_code == 409


def test_only_the_team_or_a_commander_ends_it_and_only_when_live(actors, approvers, make_user, due):
    with pytest.raises(Conflict):
        services.end_early(approvers.superintendent, due, reason="Not live yet.")
    services.try_go_live(due, actor=approvers.superintendent)
    stranger = make_user("stranger", Role.OFFICER, rank=Rank.CONSTABLE)
    with pytest.raises(PermissionDenied):
        services.end_early(stranger, due, reason="Not mine to end.")
    with pytest.raises(PermissionDenied):
        services.end_early(actors.compiler, due, reason="Not a role that runs deployments.")
    with pytest.raises(ValidationError):
        services.end_early(approvers.superintendent, due, reason="")
    suspended = services.suspend(approvers.superintendent, due, reason="Crowd too dense to engage safely")
    ended = services.end_early(approvers.superintendent, suspended, reason="The crowd did not thin.")
    assert ended.state == DeploymentState.COMPLETED
    assert not Event.objects.filter(action="deployment.end_early", actor=stranger).exists()


def test_the_team_officer_goes_live_and_ends_early_from_the_page_after_a_confirmation(actors, client, due):
    """The page offers the officer on the team what the API lets them do (it offered go-live to commanders only and
    had no way to end early), and ending early says what it will do before it is done."""
    client.force_login(actors.officer)
    page = client.get(f"/deployments/{due.pk}/").content.decode()
    assert 'id="go-live"' in page and 'id="end-early"' not in page
    client.post(f"/deployments/{due.pk}/go-live/")
    assert Deployment.objects.get(pk=due.pk).state == DeploymentState.LIVE
    page = client.get(f"/deployments/{due.pk}/").content.decode()
    assert 'id="end-early"' in page
    reason = "The man sought was arrested at 10:02."
    asked = client.post(f"/deployments/{due.pk}/end-early/", {"reason": reason})
    assert asked.status_code == 200 and "Confirm: end the deployment now" in asked.content.decode()
    assert Deployment.objects.get(pk=due.pk).state == DeploymentState.LIVE  # not yet: only asked
    client.post(f"/deployments/{due.pk}/end-early/", {"reason": reason, "confirmed": "yes"})
    assert Deployment.objects.get(pk=due.pk).state == DeploymentState.COMPLETED


def test_an_officer_of_another_team_is_offered_neither(client, make_user, due):
    stranger = make_user("stranger", Role.OFFICER, rank=Rank.CONSTABLE)
    client.force_login(stranger)
    answer = client.get(f"/deployments/{due.pk}/")
    if answer.status_code == 200:
        assert 'id="go-live"' not in answer.content.decode()
