"""The snags an integrator met driving Govern through its OpenAPI alone (issue 23, point 8), each held: the documented
body is the one the server takes, the lists page and filter as documented, and the answers say what happened."""

import datetime
import io
import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from PIL import Image

from apps.audit.models import Event
from apps.deployments.models import Deployment
from apps.matching.api.serializers import AlertOutcomeSerializer
from apps.matching.models import Capture
from apps.matching.services import live_capture
from apps.watchlists.choices import WatchlistState
from apps.watchlists.services import watchlists
from govern.roles import Rank, Role
from tests.watchlist_fixtures import list_person

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        # Through JSON, as a client reads it.
        return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))


def _body_schema(schema, path, method="post", media_type="application/json"):
    content = schema["paths"][path][method]["requestBody"]["content"][media_type]["schema"]
    if "$ref" in content:
        return schema["components"]["schemas"][content["$ref"].rpartition("/")[2]]
    return content


def test_the_alert_outcome_body_documented_is_the_stop_record(schema):
    body = _body_schema(schema, "/api/matching/alerts/{id}/outcome/")
    assert set(body["properties"]) == set(AlertOutcomeSerializer().fields)
    assert {"outcome", "identity_check", "stop_minutes"} <= set(body["required"])
    assert "faces_processed" not in body["properties"]
    # The deployment's figures keep a name of their own: no two components share a stem a client could confuse.
    names = {name.removesuffix("Request") for name in schema["components"]["schemas"]}
    assert "Outcome" not in names and {"AlertOutcome", "DeploymentFigures"} <= names


def test_the_search_crops_close_and_capture_bodies_are_typed(schema):
    search = _body_schema(schema, "/api/matching/searches/", media_type="multipart/form-data")
    assert search["properties"]["stills"]["items"]["format"] == "binary"
    assert {"incident_reference", "crime_type", "stills"} <= set(search["required"])
    crops = _body_schema(schema, "/api/matching/capture/crops/", media_type="multipart/form-data")
    assert crops["properties"]["crop"]["maxItems"] == 64
    close = _body_schema(schema, "/api/matching/searches/{id}/close/")
    assert close["required"] == ["reason"] and close["properties"]["reason"]["maxLength"] == 2000
    frame = schema["paths"]["/api/matching/capture/"]["post"]["requestBody"]["content"]
    assert {"image/jpeg", "image/png", "image/webp", "multipart/form-data"} <= set(frame)
    crops_responses = schema["paths"]["/api/matching/capture/crops/"]["post"]["responses"]["201"]
    assert crops_responses["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CaptureResult"}


def test_positions_in_the_log_are_integers_in_the_path(schema):
    for path, name in (
        ("/api/audit/events/{seq}/", "seq"),
        ("/api/audit/events/{seq}/proof/", "seq"),
        ("/api/audit/checkpoints/{tree_size}/", "tree_size"),
    ):
        (parameter,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "path"]
        assert parameter["name"] == name and parameter["schema"]["type"] == "integer"


def test_every_operation_documents_503(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "503" in operation["responses"], (method, path)


def test_a_png_frame_is_taken(live, approvers, vans, api, astronaut):
    credential = live_capture.issue_credential(approvers.superintendent, vans[0])
    png = io.BytesIO()
    Image.open(io.BytesIO(astronaut)).save(png, "PNG")
    answer = api().post(
        f"/api/matching/capture/?deployment={live.pk}",
        png.getvalue(),
        content_type="image/png",
        HTTP_AUTHORIZATION=f"Camera {credential}",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["faces"] == 1


def test_ledgers_and_the_access_log_page_with_limit_and_offset(actors, ledgered, api, planned):
    client = api(actors.oversight)
    everything = client.get("/api/oversight/ledgers/").json()
    assert everything["count"] == Deployment.objects.count() == 2
    first = client.get("/api/oversight/ledgers/", {"limit": 1}).json()
    second = client.get("/api/oversight/ledgers/", {"limit": 1, "offset": 1}).json()
    assert len(first["results"]) == len(second["results"]) == 1 and first["count"] == 2
    assert [first["results"][0]["reference"], second["results"][0]["reference"]] == [
        row["reference"] for row in everything["results"]
    ]
    for n in range(3):
        api(actors.privacy).get(f"/api/matching/alerts/{ledgered.alert_id}/", {"reason": f"Case 4{n} review"})
    log = client.get("/api/oversight/access/").json()
    assert log["count"] >= 3
    page = client.get("/api/oversight/access/", {"limit": 2, "offset": 1}).json()
    assert page["count"] == log["count"] and [row["seq"] for row in page["results"]] == [
        row["seq"] for row in log["results"][1:3]
    ]


def test_audit_events_filter_by_deployment(actors, ledgered, api, planned):
    client = api(actors.privacy)
    mine = client.get("/api/audit/events/", {"deployment": ledgered.pk, "limit": 500}).json()
    actions = {event["action"] for event in mine["results"]}
    assert {"deployment.plan", "deployment.go_live", "capture.processed", "alert.raised", "face.deleted"} <= actions
    others = client.get("/api/audit/events/", {"deployment": planned.pk, "limit": 500}).json()
    assert {event["action"] for event in others["results"]} == {"deployment.plan"}
    assert mine["count"] + others["count"] < Event.objects.count()
    for wrong in ("x", "1.5", "0"):
        assert client.get("/api/audit/events/", {"deployment": wrong}).status_code == 400, wrong
        assert client.get("/api/matching/captures/", {"deployment": wrong}).status_code == 400, wrong


def test_a_deployments_captures_are_listed_without_biometrics(actors, ledgered, api, make_user):
    answer = api(actors.officer).get("/api/matching/captures/", {"deployment": ledgered.pk})
    assert answer.status_code == 200, answer.content
    rows = answer.json()["results"]
    assert answer.json()["count"] == 3 == Capture.objects.filter(deployment=ledgered).count()
    assert set(rows[0]) == {"id", "deployment", "asset", "received_at", "faces", "alerts", "receipts", "tracks"}
    assert sum(row["faces"] for row in rows) == 3 and sum(row["alerts"] for row in rows) == 1
    assert api(actors.officer).get("/api/matching/captures/", {"deployment": ledgered.pk + 1000}).json()["count"] == 0
    assert api(actors.oversight).get("/api/matching/captures/").json()["count"] == 3
    for refused in (actors.retail, actors.admin, None):
        assert api(refused).get("/api/matching/captures/").status_code in (401, 403)


def test_approving_a_version_gone_back_to_draft_is_409_saying_what_changed(actors, approvers, api, gallery, now):
    subject, image = gallery.adult
    watchlist = watchlists.create_watchlist(
        actors.compiler,
        purpose="Robbery suspects at Oxford Circus",
        intended_start=now + datetime.timedelta(hours=6),
        intended_end=now + datetime.timedelta(hours=12),
        now=now,
    )
    list_person(actors.compiler, watchlist, subject, image, now=now)
    review = watchlists.submit(actors.compiler, watchlist, now=now)
    other, other_image = gallery.other
    list_person(actors.compiler, watchlist, other, other_image, now=now)  # a new version, a draft again
    url = f"/api/watchlists/watchlists/{watchlist.pk}/approve/"
    answer = api(approvers.superintendent).post(url, {"content_hash": review.content_hash}, format="json")
    assert answer.status_code == 409, answer.content
    detail = answer.json()["detail"]
    assert "version 1" in detail and "version 2" in detail and "1 added" in detail
    assert other.pnc_id not in detail and str(other) not in detail  # the draft is not the approver's to read
    watchlist.refresh_from_db()
    assert watchlist.state == WatchlistState.DRAFT and not Event.objects.filter(action="watchlist.approve").exists()
    unknown = api(approvers.superintendent).post(url, {"content_hash": "0" * 64}, format="json")
    assert unknown.status_code == 404  # a hash never submitted proves nothing: the draft stays out of sight


def test_the_go_live_refusal_for_another_officer_names_the_team(api, make_user, planned):
    stranger = make_user("stranger", Role.OFFICER, rank=Rank.CONSTABLE)
    answer = api(stranger).post(f"/api/deployments/deployments/{planned.pk}/go-live/")
    assert answer.status_code == 403 and "suspend" not in answer.json()["detail"].lower()
