"""Deployments: separation of duties, scope, authorisation bound to the reviewed revision, and a notice that cannot
be backdated (issue 20, items 4 and 5)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import Event
from apps.deployments import services
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment
from apps.matching.models import Alert
from tests.deployment_fixtures import ready

pytestmark = pytest.mark.django_db


def _url(deployment, tail=""):
    return f"/api/deployments/deployments/{deployment.pk}/{tail}"


def test_nobody_authorises_a_plan_they_edited(make_user, actors, approvers, planned, now):
    """An authorising officer on the team changes the grounds, then may not authorise: another one does."""
    from govern.roles import Rank, Role

    both = make_user("both", Role.OFFICER, Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT)
    services.set_team(actors.officer, planned, [actors.officer, both])
    edited = services.update_plan(both, planned, grounds="Changed grounds: a new robbery series.", reason="update")
    assert list(edited.editors.all()) == [both] and edited.revision == 2
    with pytest.raises(PermissionDenied, match="You changed this deployment's plan"):
        services.authorise(both, edited, revision=edited.revision, now=now)
    services.authorise(approvers.superintendent, edited, revision=edited.revision, now=now)


def test_only_the_planner_and_the_team_change_prepare_or_run_a_deployment(make_user, actors, approvers, planned, now):
    from govern.roles import Rank, Role

    stranger = make_user("stranger", Role.OFFICER, rank=Rank.CONSTABLE)
    for attempt in (
        lambda who: services.update_plan(who, planned, grounds="Mine now.", reason="taking over"),
        lambda who: services.update_checklist(who, planned, signage_up=True),
        lambda who: services.publish_notice(who, planned, reference="my blog"),
    ):
        for who in (stranger, actors.compiler, approvers.superintendent):
            with pytest.raises(PermissionDenied):
                attempt(who)
    assert Deployment.objects.get(pk=planned.pk).revision == 1
    assert not Event.objects.filter(action__in=["deployment.update", "deployment.checklist", "deployment.notice"])
    services.update_checklist(actors.officer, planned, signage_up=True)  # the team member (and planner) does


def test_the_api_refuses_a_stranger_and_the_restricted_list_agrees(make_user, api, actors, planned):
    from govern.policy import scope
    from govern.roles import Rank, Role

    stranger = make_user("stranger", Role.OFFICER, rank=Rank.CONSTABLE)
    response = api(stranger).patch(_url(planned), {"grounds": "Mine.", "reason": "x"}, format="json")
    assert (
        response.status_code == 403 and "planned this deployment or an officer of its team" in response.json()["detail"]
    )
    assert api(stranger).post(_url(planned, "checklist/"), {"signage_up": True}, format="json").status_code == 403
    assert not Deployment.objects.filter(scope(stranger, "deployments.change_deployment")).exists()
    assert Deployment.objects.filter(scope(actors.officer, "deployments.change_deployment")).count() == 1


def test_authorisation_is_bound_to_the_revision_reviewed(actors, approvers, api, planned, now):
    reviewed = api(approvers.superintendent).get(_url(planned))
    assert reviewed["ETag"] == '"r1"' and reviewed.json()["revision"] == 1
    services.update_plan(actors.officer, planned, grounds="Grounds changed after the review.", reason="new intel")
    missing = api(approvers.superintendent).post(_url(planned, "authorise/"))
    assert missing.status_code == 428
    stale = api(approvers.superintendent).post(_url(planned, "authorise/"), HTTP_IF_MATCH='"r1"')
    assert stale.status_code == 412
    assert "revision 1" in stale.json()["detail"] and "grounds changed" in stale.json()["detail"]
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.PLANNED
    current = api(approvers.superintendent).post(_url(planned, "authorise/"), HTTP_IF_MATCH='"r2"')
    assert current.status_code == 200 and current.json()["state"] == "authorised"
    assert Event.objects.get(action="deployment.authorise").data["revision"] == 2


def test_the_page_sends_the_revision_it_showed(client, actors, approvers, planned):
    client.force_login(approvers.superintendent)
    page = client.get(f"/deployments/{planned.pk}/").content.decode()
    assert 'name="revision" value="1"' in page
    services.update_plan(actors.officer, planned, threshold="0.650", reason="tighter threshold")
    client.post(f"/deployments/{planned.pk}/authorise/", {"revision": "1", "confirmed": "yes"})
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.PLANNED
    shown = client.get(f"/deployments/{planned.pk}/").content.decode()
    assert "threshold changed" in shown
    client.post(f"/deployments/{planned.pk}/authorise/", {"revision": "2", "confirmed": "yes"})
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.AUTHORISED


def test_the_watchlist_form_is_bound_to_the_revision_it_showed(client, actors, planned):
    client.force_login(actors.officer)
    page = client.get(f"/deployments/{planned.pk}/").content.decode()
    form = page[page.index('id="watchlist-form"') :]
    assert 'name="revision" value="1"' in form[: form.index("</form>")]
    services.update_plan(actors.officer, planned, threshold="0.650", reason="tighter threshold")
    body = {"watchlist": planned.watchlist_id, "reason": "Attach it again"}
    stale = client.post(f"/deployments/{planned.pk}/watchlist/", {**body, "revision": "1"}, follow=True)
    assert "changed since you reviewed revision 1" in stale.content.decode()  # not overwritten unseen
    current = client.post(f"/deployments/{planned.pk}/watchlist/", {**body, "revision": "2"}, follow=True)
    assert "changed since you reviewed" not in current.content.decode()


def test_a_change_after_authorisation_withdraws_it_with_the_reason_logged(actors, approvers, planned, now):
    authorised = services.authorise(approvers.superintendent, planned, revision=1, now=now)
    with pytest.raises(ValidationError, match="authorisation is withdrawn"):
        services.update_plan(actors.officer, authorised, grounds="Quietly changed.", reason=" ")
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.AUTHORISED
    changed = services.update_plan(actors.officer, authorised, grounds="Changed openly.", reason="new intel")
    assert changed.state == DeploymentState.PLANNED and changed.authorised_by is None
    event = Event.objects.get(action="deployment.update")
    assert event.reason == "new intel" and event.data["authorisation_withdrawn"] is True


# --- The advance public notice (item 5) --------------------------------------------------------------------------


def test_a_notice_cannot_be_backdated_before_the_plan_or_dated_in_the_future(actors, planned, now):
    for published_at, message in (
        (datetime.datetime(1, 1, 1, tzinfo=datetime.UTC), "predate the plan"),
        (planned.planned_at - datetime.timedelta(minutes=1), "predate the plan"),
        (now + datetime.timedelta(days=1), "future"),
    ):
        with pytest.raises(ValidationError, match=message):
            services.publish_notice(actors.officer, planned, published_at=published_at, reference="web", now=now)
    assert Deployment.objects.get(pk=planned.pk).notice_published_at is None
    recorded = services.publish_notice(actors.officer, planned, reference="force website", now=now)
    assert recorded.notice_published_at == now


def test_the_notice_page_refuses_year_one_and_the_gate_stays_shut(client, actors, planned, now):
    client.force_login(actors.officer)
    client.post(f"/deployments/{planned.pk}/notice/", {"published_at": "0001-01-01T00:00", "reference": "web"})
    assert Deployment.objects.get(pk=planned.pk).notice_published_at is None
    gate = {condition.name: condition.ok for condition in services.gate(Deployment.objects.get(pk=planned.pk))}
    assert gate["public_notice"] is False


def test_the_notice_api_refuses_a_backdated_notice(api, actors, planned):
    response = api(actors.officer).post(
        _url(planned, "notice/"), {"published_at": "1999-01-01T00:00:00Z", "reference": "web"}, format="json"
    )
    assert response.status_code == 400 and "predate the plan" in str(response.json())
    assert Deployment.objects.get(pk=planned.pk).notice_published_at is None


def test_a_plan_made_days_ahead_takes_its_list_later_and_its_notice_counts(actors, approvers, planned, now):
    """The order a force works in: plan and notice days ahead, the list compiled shortly before, then authorise."""
    ready(planned, actors.officer, now)
    deployment = services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    gate = {c.name: c.ok for c in services.gate(deployment, now=deployment.start + datetime.timedelta(minutes=1))}
    assert gate["public_notice"] is True


# --- The published figures cannot be typed (issue 20 item 12, issue 22 item 1) -----------------------------------


def test_nobody_types_a_published_figure_on_any_surface(api, actors, approvers, live, astronaut):
    from apps.matching.services import alert_handling, live_capture

    alert = Alert.objects.get(pk=live_capture.capture_frame(live.assets.first(), astronaut).alerts[0])
    before = api(actors.officer).get(_url(live, "outcome/")).json()
    for user in (actors.officer, actors.commander, approvers.superintendent, actors.admin):
        for method in ("put", "patch", "post", "delete"):
            typed = getattr(api(user), method)(_url(live, "outcome/"), {"arrests": 475514}, format="json")
            assert typed.status_code in (403, 405), (user, method)  # no such method, or no role to ask at all
            assert user == actors.admin or typed.status_code == 405
    assert api(actors.officer).get(_url(live, "outcome/")).json() == before
    assert not hasattr(services, "record_outcome")  # no service takes a person's figures either
    # An arrest is recorded on the alert it followed, and the figure is counted from there.
    alert_handling.adjudicate(actors.officer, alert, match=True, reason="Same person as the custody image")
    alert_handling.engage(actors.officer, alert)
    alert_handling.record_alert_outcome(
        actors.officer, alert, outcome="arrest", identity_check="document", stop_minutes=8
    )
    figures = api(actors.officer).get(_url(live, "outcome/")).json()
    assert (figures["faces_processed"], figures["alerts"], figures["true_alerts"]) == (1, 1, 1)
    assert (figures["engagements"], figures["arrests"]) == (1, 1)


def test_a_form_revision_that_is_not_one_is_refused_not_read_as_none(client, actors, approvers, planned):
    client.force_login(approvers.superintendent)
    for forged in ("1" * 10, "r1", "-1"):
        shown = client.post(f"/deployments/{planned.pk}/authorise/", {"revision": forged}, follow=True)
        assert "load the page again" in shown.content.decode()
        assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.PLANNED
