"""A deployment's team: the officers who work it and alone (with commanders and privacy officers) see its alerts.

Set at planning, changed by the planner or an authorising officer through one service with its audit event, on the
page and the API alike; changing it keeps the authorisation, since the team is not what was authorised.
"""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.audit.models import Event
from apps.deployments import services
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment
from govern.roles import Rank, Role
from tests.deployment_fixtures import plan_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_officer(make_user):
    return make_user("pc-second", Role.OFFICER, rank=Rank.CONSTABLE, unit="Response Team 3")


def _events(deployment):
    return Event.objects.filter(action="deployment.team", target_id=str(deployment.pk))


def test_the_plan_names_its_team_and_the_event_records_it(actors, planned):
    assert list(planned.team.all()) == [actors.officer]
    plan = Event.objects.get(action="deployment.plan", target_id=str(planned.pk))
    assert plan.data["team"] == ["officer"]


def test_only_active_officers_join_a_team(actors, planned, make_user):
    with pytest.raises(ValidationError, match="compiler"):
        services.set_team(actors.officer, planned, [actors.officer, actors.compiler])
    gone = make_user("pc-gone", Role.OFFICER)
    gone.is_active = False
    gone.save()
    with pytest.raises(ValidationError, match="pc-gone"):
        services.set_team(actors.officer, planned, [gone])
    assert list(planned.team.all()) == [actors.officer] and not _events(planned).exists()


def test_the_planner_and_a_commander_change_the_team_others_may_not(actors, approvers, planned, second_officer):
    services.set_team(actors.officer, planned, [actors.officer, second_officer], reason="Second van crew")
    event = _events(planned).get()
    assert (
        event.data == {"before": ["officer"], "after": ["officer", "pc-second"]} and event.reason == "Second van crew"
    )
    services.set_team(approvers.superintendent, planned, [second_officer], reason="New shift")
    assert list(planned.team.all()) == [second_officer]
    with pytest.raises(PermissionDenied, match="planned this deployment"):
        services.set_team(second_officer, planned, [second_officer, actors.officer])
    for refused in (actors.privacy, actors.oversight, actors.retail):
        with pytest.raises(PermissionDenied):
            services.set_team(refused, planned, [])
    assert _events(planned).count() == 2


def test_an_unchanged_team_writes_no_event(actors, planned):
    services.set_team(actors.officer, planned, [actors.officer])
    assert not _events(planned).exists()


def test_changing_the_team_keeps_the_authorisation(actors, approvers, planned, second_officer, now):
    services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    services.set_team(actors.officer, planned, [second_officer], reason="New shift")
    planned.refresh_from_db()
    assert planned.state == DeploymentState.AUTHORISED and planned.authorised_by == approvers.superintendent


def test_the_api_plans_with_a_team_and_changes_it(actors, approvers, api, approved_list, documents, second_officer):
    body = plan_body(approved_list, documents, assets=[], team=[actors.officer.pk])
    created = api(actors.officer).post("/api/deployments/deployments/", body, format="json")
    assert created.status_code == 201 and created.json()["team"] == [actors.officer.pk], created.json()
    url = f"/api/deployments/deployments/{created.json()['id']}/team/"
    assert api(second_officer).post(url, {"team": [second_officer.pk]}, format="json").status_code == 403
    assert api(actors.privacy).post(url, {"team": []}, format="json").status_code == 403
    refused = api(actors.officer).post(url, {"team": [actors.compiler.pk]}, format="json")
    assert refused.status_code == 400 and "compiler" in refused.json()["team"][0]
    changed = api(approvers.superintendent).post(url, {"team": [second_officer.pk], "reason": "Shift"}, format="json")
    assert changed.status_code == 200 and changed.json()["team"] == [second_officer.pk]


def test_the_pages_plan_with_a_team_and_change_it(actors, client, planned, second_officer):
    client.force_login(actors.officer)
    page = client.get(reverse("deployments:detail", args=[planned.pk])).content.decode()
    assert 'id="team-form"' in page and 'name="team"' in page
    assert 'name="team"' in client.get(reverse("deployments:plan")).content.decode()
    url = reverse("deployments:act", args=[planned.pk, "team"])
    response = client.post(url, {"team": [actors.officer.pk, second_officer.pk], "reason": "Second crew"})
    assert response.status_code == 302 and set(planned.team.all()) == {actors.officer, second_officer}
    client.force_login(second_officer)  # on the team, but not its planner: told so, nothing changes
    assert 'id="team-form"' not in client.get(reverse("deployments:detail", args=[planned.pk])).content.decode()
    client.post(url, {"team": [second_officer.pk]})
    assert set(planned.team.all()) == {actors.officer, second_officer}
    client.force_login(actors.privacy)
    assert client.post(url, {"team": []}).status_code == 403


def test_the_demo_officers_are_on_the_demo_deployments(tmp_path):
    from django.core.management import call_command

    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=tmp_path / "c.txt")
    for deployment in Deployment.objects.all():
        assert set(deployment.team.values_list("username", flat=True)) == {"officer", "ppu"}, deployment.reference


def test_a_team_change_without_the_team_is_refused_not_read_as_nobody(actors, api, planned):
    url = f"/api/deployments/deployments/{planned.pk}/team/"
    as_json = api(actors.officer).post(url, {"reason": "New shift"}, format="json")
    assert as_json.status_code == 400 and "team" in as_json.json()
    as_form = api(actors.officer).post(url, "reason=New+shift", content_type="application/x-www-form-urlencoded")
    assert as_form.status_code == 415, as_form.content  # a form cannot say "no team" apart from "no field"
    assert list(planned.team.all()) == [actors.officer]  # a form without the field used to empty the team
