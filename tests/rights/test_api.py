"""The desk's API: privacy officers work it, an officer may only log a request, everyone else 403 with nothing
written; the detail and the pack need a reason and are logged; bad input is a 400 that changes nothing."""

import io
import zipfile

import pytest

from apps.audit.choices import CONSULTATION_ACTION
from apps.audit.models import Event
from apps.rights.choices import RequestKind
from apps.rights.models import RightsRequest

from .conftest import REASON, granted, logged

pytestmark = pytest.mark.django_db

BODY = {
    "kind": "access",
    "channel": "email",
    "received_at": "2026-01-05T09:30:00Z",
    "requester_name": "Adam Example",
    "requester_contact": "adam@example.org",
}


def test_officers_log_but_only_privacy_officers_see_the_desk(api, desk, actors):
    answer = api(actors.officer).post("/api/rights/requests/", BODY, format="json")
    assert answer.status_code == 201, answer.content
    assert "requester_name" not in answer.json() and answer.json()["due_at"].startswith("2026-02-05")
    assert api(actors.officer).get("/api/rights/requests/").status_code == 403
    pk = answer.json()["id"]
    assert api(actors.officer).get(f"/api/rights/requests/{pk}/", {"reason": REASON}).status_code == 403
    listed = api(desk.privacy).get("/api/rights/requests/")
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert "requester_name" not in listed.json()["results"][0]


def test_everyone_else_is_refused_on_every_endpoint_and_nothing_is_written(api, desk, actors):
    request = logged(desk.privacy)
    base = f"/api/rights/requests/{request.pk}/"
    before = Event.objects.count()
    for someone in (actors.commander, actors.compiler, actors.oversight, actors.retail, actors.admin, actors.outsider):
        client = api(someone)
        assert client.get("/api/rights/requests/").status_code == 403
        assert client.post("/api/rights/requests/", BODY, format="json").status_code == 403
        assert client.get(base, {"reason": REASON}).status_code == 403
        assert client.get(f"{base}pack/", {"reason": REASON}).status_code == 403
        for step in ("link", "identity", "extend", "decide", "respond", "lift-restriction"):
            assert client.post(f"{base}{step}/", {}, format="json").status_code == 403, (someone, step)
    assert api(None).get("/api/rights/requests/").status_code in (401, 403)
    assert Event.objects.count() == before and RightsRequest.objects.count() == 1


def test_the_detail_needs_a_reason_and_is_logged(api, desk):
    request = logged(desk.privacy)
    client = api(desk.privacy)
    assert client.get(f"/api/rights/requests/{request.pk}/").status_code == 400
    answer = client.get(f"/api/rights/requests/{request.pk}/", HTTP_X_ACCESS_REASON=REASON)
    assert answer.status_code == 200 and answer.json()["requester_name"] == "Adam Example"
    assert Event.objects.filter(action=CONSULTATION_ACTION, target_type="rights.rightsrequest").count() == 1


def test_the_whole_journey_over_http(api, desk, gallery):
    adult, _ = gallery.adult
    logger, decider = api(desk.privacy), api(desk.privacy2)
    pk = logger.post("/api/rights/requests/", BODY, format="json").json()["id"]
    base = f"/api/rights/requests/{pk}/"
    found = logger.post(f"{base}link/", {"pnc_id": adult.pnc_id}, format="json")
    assert found.status_code == 200 and found.json()["matches"] == 1
    assert logger.post(f"{base}decide/", {"decision": "grant"}, format="json").status_code == 403  # four eyes
    assert decider.post(f"{base}decide/", {"decision": "grant"}, format="json").status_code == 409  # no identity yet
    identity = {"method": "photo_document", "note": "Passport seen, photo matches the custody image"}
    assert logger.post(f"{base}identity/", identity, format="json").status_code == 200
    assert decider.post(f"{base}decide/", {"decision": "grant"}, format="json").json()["state"] == "decided"
    pack = decider.get(f"{base}pack/", {"reason": REASON})
    assert pack.status_code == 200 and pack["Content-Type"] == "application/zip"
    assert "record.csv" in zipfile.ZipFile(io.BytesIO(pack.content)).namelist()
    done = logger.post(f"{base}respond/", {"response": "Pack sent by email, encrypted"}, format="json")
    assert done.json()["state"] == "closed"
    assert logger.post(f"{base}extend/", {"months": 1, "reason": "Too late now"}, format="json").status_code == 409


def test_bad_input_is_a_400_that_changes_nothing(api, desk):
    client = api(desk.privacy)
    bad_bodies = [
        {**BODY, "kind": "everything"},
        {**BODY, "received_at": "yesterday"},
        {**BODY, "requester_name": ""},
        {**BODY, "received_at": "2999-01-01T00:00:00Z"},
        {**BODY, "requester_date_of_birth": "1066-10-14"},
    ]
    for bad in bad_bodies:
        assert client.post("/api/rights/requests/", bad, format="json").status_code == 400, bad
    request = granted(desk.privacy, desk.privacy2, logged(desk.privacy))
    base = f"/api/rights/requests/{request.pk}/"
    assert client.post(f"{base}extend/", {"months": 5, "reason": "Complex request"}, format="json").status_code == 400
    assert client.post(f"{base}respond/", {"response": ""}, format="json").status_code == 400
    assert client.get("/api/rights/requests/", {"overdue": "ture"}).status_code == 400
    assert client.get("/api/rights/requests/", {"colour": "red"}).status_code == 400
    assert RightsRequest.objects.count() == 1
    request.refresh_from_db()
    assert request.extension_months == 0 and request.state == "decided"


def test_a_refusal_over_http_needs_its_ground(api, desk):
    request = logged(desk.privacy)
    from .conftest import verified

    verified(desk.privacy, request)
    client = api(desk.privacy2)
    base = f"/api/rights/requests/{request.pk}/decide/"
    assert (
        client.post(base, {"decision": "refuse", "note": "Would tip off a suspect"}, format="json").status_code == 400
    )
    bad = {"decision": "refuse", "refusal_ground": "we_would_rather_not", "note": "Would tip off a suspect"}
    assert client.post(base, bad, format="json").status_code == 400
    good = {"decision": "refuse", "refusal_ground": "prejudice_crime", "note": "Would tip off a suspect"}
    assert client.post(base, good, format="json").json()["refusal_ground"] == "prejudice_crime"


def test_an_unconvicted_persons_erasure_refused_over_http_needs_reasons(api, desk, gallery):
    from .conftest import verified

    adult, _ = gallery.adult
    request = verified(desk.privacy, logged(desk.privacy, kind=RequestKind.ERASURE, details="Erase my photo"), adult)
    base = f"/api/rights/requests/{request.pk}/decide/"
    refusal = {"decision": "refuse", "refusal_ground": "prejudice_crime", "note": "Would tip off a suspect"}
    client = api(desk.privacy2)
    assert client.post(base, refusal, format="json").status_code == 400  # conviction not recorded
    assert client.post(base, {**refusal, "convicted": False}, format="json").status_code == 400  # no reasons
    why = "Charged with a serious offence; the trial is pending"
    answer = client.post(base, {**refusal, "convicted": False, "presumption_reasons": why}, format="json")
    assert answer.status_code == 200 and answer.json()["decision"] == "refuse"
    request.refresh_from_db()
    assert request.convicted is False and request.presumption_reasons == why
