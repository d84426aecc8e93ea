"""The deployments API and pages, and the public records that must never identify anyone."""

import csv
import datetime
import io
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.deployments import services
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment
from tests.deployment_fixtures import plan_body, plan_deployment, ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def completed(actors, approvers, planned, now):
    deployment = services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    ready(deployment, actors.officer, now)
    services.run_schedule(now=deployment.start + datetime.timedelta(minutes=1))
    services.run_schedule(now=deployment.end + datetime.timedelta(minutes=1))
    services.publish_figures(  # the system's counts, as if frames had been processed (officers type none of them)
        deployment,
        faces_processed=15432,
        alerts=3,
        true_alerts=2,
        false_alerts=1,
        engagements=3,
        arrests=2,
    )
    return Deployment.objects.get(pk=deployment.pk)


def test_plan_and_authorise_through_the_api(actors, approvers, api, approved_list, documents, vans):
    body = plan_body(approved_list, documents, assets=[vans[0].pk])
    created = api(actors.officer).post("/api/deployments/deployments/", body, format="json")
    assert created.status_code == 201, created.json()
    assert {c["name"]: c["ok"] for c in created.json()["gate"]}["authorisation"] is False
    url = f"/api/deployments/deployments/{created.json()['id']}/authorise/"
    assert api(actors.officer).post(url).status_code == 403
    refused = api(approvers.chief_inspector).post(url)
    assert refused.status_code == 403 and "Superintendent" in refused.json()["detail"]
    assert api(approvers.superintendent).post(url).status_code == 428  # the revision reviewed must be named
    authorised = api(approvers.superintendent).post(url, HTTP_IF_MATCH=created["ETag"])
    assert authorised.status_code == 200 and authorised.json()["state"] == "authorised"
    assert authorised.json()["authorised_watchlist_hash"] == approved_list.approved_hash
    again = api(approvers.superintendent2).post(url, HTTP_IF_MATCH=created["ETag"])
    assert again.status_code == 409


def test_a_double_booked_van_gets_400_through_the_api(actors, api, planned, approved_list, documents, vans):
    body = plan_body(
        approved_list,
        documents,
        location_name="Brixton",
        latitude="51.4613",
        longitude="-0.1156",
        start=planned.start.isoformat(),
        end=planned.end.isoformat(),
        assets=[vans[0].pk],
    )
    response = api(actors.officer).post("/api/deployments/deployments/", body, format="json")
    assert response.status_code == 400 and "booked" in str(response.json())


def test_go_live_too_early_is_409_with_the_failing_conditions(approvers, api, planned, now):
    services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    response = api(approvers.superintendent2).post(f"/api/deployments/deployments/{planned.pk}/go-live/")
    assert response.status_code == 409
    assert any("Outside its period" in reason for reason in response.json()["failing"])


def test_the_deployment_page_shows_each_gate_condition(approvers, client, planned, now):
    client.force_login(approvers.superintendent)
    page = client.get(reverse("deployments:detail", args=[planned.pk])).content.decode()
    assert 'data-condition="authorisation"' in page and "Not authorised." in page
    assert 'data-condition="public_notice"' in page and 'id="authorise"' in page
    url = reverse("deployments:act", args=[planned.pk, "authorise"])
    client.post(url, {"revision": str(planned.revision), "confirmed": "yes"})
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.AUTHORISED


def test_authorising_on_the_page_says_what_will_happen_first_and_a_stale_confirmation_is_refused(
    actors, approvers, client, planned
):
    client.force_login(approvers.superintendent)
    url = reverse("deployments:act", args=[planned.pk, "authorise"])
    asked = client.post(url, {"revision": "1"})
    page = asked.content.decode()
    assert asked.status_code == 200 and 'id="confirm"' in page and "Authorise " + planned.reference in page
    assert 'name="revision" value="1"' in page and 'name="confirmed" value="yes"' in page
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.PLANNED  # nothing done yet
    services.update_plan(actors.officer, planned, threshold="0.650", reason="tighter threshold")
    client.post(url, {"revision": "1", "confirmed": "yes"})  # confirmed, but for the revision shown before
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.PLANNED
    client.post(url, {"revision": "2", "confirmed": "yes"})
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.AUTHORISED


def test_cancelling_on_the_page_is_confirmed_first(approvers, client, planned):
    client.force_login(approvers.superintendent)
    url = reverse("deployments:act", args=[planned.pk, "cancel"])
    asked = client.post(url, {"reason": "The event was called off."})
    assert asked.status_code == 200 and "Confirm: cancel the deployment" in asked.content.decode()
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.PLANNED
    client.post(url, {"reason": "The event was called off.", "confirmed": "yes"})
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.CANCELLED


def test_the_deployment_page_has_no_id_twice(approvers, client, planned):
    client.force_login(approvers.superintendent)
    page = client.get(reverse("deployments:detail", args=[planned.pk])).content.decode()
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert ids and len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_the_schedule_page_shows_week_and_month(actors, client, planned):
    client.force_login(actors.officer)
    for view in ("week", "month"):
        page = client.get(reverse("deployments:schedule"), {"view": view, "date": planned.start.date().isoformat()})
        assert page.status_code == 200 and b"Oxford Circus" in page.content
    assert client.get(reverse("deployments:schedule"), {"date": "not-a-date"}).status_code == 200


def test_the_schedule_re_reads_its_calendar_in_place(actors, client, planned):
    """The scheduler moves deployments on its own; the page polls its own calendar (htmx), keeping its view."""
    client.force_login(actors.officer)
    page = client.get(reverse("deployments:schedule"), {"view": "month", "date": planned.start.date().isoformat()})
    text = page.content.decode()
    query = f"view=month&amp;date={planned.start.date().isoformat()}"
    assert f'id="calendar" hx-get="/deployments/schedule/?{query}" hx-trigger="every 30s"' in text
    assert 'hx-select="#calendar"' in text and "/static/vendor/htmx.min.js" in text


PERSONAL = ["EXAMPLE", "Adam", "90/123456A", "1990-05-17", "officer", "supt", "compiler", "Warrant"]


def test_public_records_show_only_completed_deployments_and_no_personal_data(
    client, api, completed, planned_later, django_assert_num_queries
):
    page = client.get(reverse("public-deployments"))
    assert page.status_code == 200
    text = page.content.decode()
    assert completed.location_name in text and "<td>15,432</td>" in text
    assert planned_later.reference not in text
    for word in PERSONAL:
        assert word not in text.split("<main>")[1], word
    rows = list(
        csv.DictReader(io.StringIO(client.get(reverse("public-deployments"), {"format": "csv"}).content.decode()))
    )
    assert len(rows) == 1
    assert set(rows[0]) == {
        "reference",
        "date",
        "location",
        "location_type",
        "start",
        "end",
        "watchlist_size",
        "faces_processed",
        "alerts",
        "false_alerts",
        "arrests",
    }
    assert (rows[0]["watchlist_size"], rows[0]["alerts"], rows[0]["false_alerts"], rows[0]["arrests"]) == (
        "1",
        "3",
        "1",
        "2",
    )
    for word in PERSONAL:
        assert word not in str(rows), word
    cache.clear()
    # The fingerprint, then the rows in one query: the list's size is counted in SQL, not by loading each manifest.
    with django_assert_num_queries(2):
        published = api().get("/api/deployments/published/").json()
    with django_assert_num_queries(1):  # nothing changed: the fingerprint alone, the rows from the cache
        assert api().get("/api/deployments/published/").json() == published
    assert published["deployments"][0]["watchlist_size"] == 1
    assert published["yearly_totals"][0]["deployments"] == 1 and published["yearly_totals"][0]["arrests"] == 2
    assert api().get("/api/deployments/deployments/").status_code == 401


@pytest.fixture
def planned_later(actors, approved_list, documents, vans):
    return plan_deployment(
        actors.officer,
        approved_list,
        start=approved_list.intended_end,
        end=approved_list.intended_end + datetime.timedelta(hours=1),
        assets=[vans[1]],
        documents=documents,
        location_name="Stratford",
        latitude="51.5416",
        longitude="-0.0033",
    )


def test_seed_demo_has_past_live_and_upcoming_deployments(tmp_path):
    from django.core.management import call_command

    from apps.audit.verification import verify

    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=tmp_path / "c.txt")
    states = set(Deployment.objects.values_list("state", flat=True))
    assert {DeploymentState.COMPLETED, DeploymentState.LIVE, DeploymentState.AUTHORISED} <= states
    live = Deployment.objects.get(state=DeploymentState.LIVE)
    assert services.is_live(live)
    assert all(d.grounds.startswith("SYNTHETIC DEMO") for d in Deployment.objects.all())
    count = Deployment.objects.count()
    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=tmp_path / "c.txt")
    assert Deployment.objects.count() == count
    assert verify().ok


def test_no_csv_cell_runs_as_a_formula_in_a_spreadsheet(client, completed):
    """Issue 20, item 10: a deployment named =HYPERLINK(...) reached every downloader of the public CSV raw."""
    from govern.spreadsheet import csv_text

    Deployment.objects.filter(pk=completed.pk).update(location_name='=HYPERLINK("http://x.example/","Click")')
    rows = list(
        csv.DictReader(io.StringIO(client.get(reverse("public-deployments"), {"format": "csv"}).content.decode()))
    )
    assert rows[0]["location"] == '\'=HYPERLINK("http://x.example/","Click")'
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_text(["a"], [{"a": f"{start}1+1"}]).splitlines()[1].lstrip('"').startswith("'")
    assert csv_text(["a"], [{"a": -3}]).splitlines()[1] == "-3"  # numbers stay numbers
