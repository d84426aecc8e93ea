"""The registers of vans and cameras and of policy documents (issue 23): pages and API through the same services and
rules, every change logged, bad input refused with nothing changed."""

import datetime

import pytest
from django.urls import reverse

from apps.audit.models import Event
from apps.deployments import services
from apps.deployments.choices import AssetKind, DocumentKind
from apps.deployments.models import Asset, PolicyDocument
from govern.errors import Conflict
from tests.deployment_fixtures import plan_body

pytestmark = pytest.mark.django_db

REASON = "Written off after a collision"


def _events(action: str) -> int:
    return Event.objects.filter(action=action).count()


# --- Vans and cameras ----------------------------------------------------------------------------------------------


def test_a_commander_registers_a_van_on_the_page_and_others_may_not(actors, approvers, client):
    client.force_login(approvers.superintendent)
    url = reverse("deployments:assets")
    page = client.get(url)
    assert page.status_code == 200 and 'id="register-asset"' in page.content.decode()
    done = client.post(url, {"kind": "van", "identifier": "VAN-PAGE-1", "description": "Sprinter"})
    assert done.status_code == 302 and Asset.objects.filter(identifier="VAN-PAGE-1", active=True).exists()
    assert Event.objects.get(action="asset.create").actor_username == "supt"
    bad = client.post(url, {"kind": "boat", "identifier": ""})
    assert bad.status_code == 400 and Asset.objects.count() == 1
    for person in (actors.officer, actors.privacy):
        client.force_login(person)
        assert client.get(url).status_code == 200  # they see the register
        assert 'id="register-asset"' not in client.get(url).content.decode()
        assert client.post(url, {"kind": "van", "identifier": "VAN-X"}).status_code == 403
    for person in (actors.oversight, actors.retail, actors.outsider):
        client.force_login(person)
        assert client.get(url).status_code == 403
    assert Asset.objects.count() == 1 and _events("asset.create") == 1


def test_retiring_through_the_api_logs_it_and_a_retired_van_cannot_be_booked(
    actors, approvers, api, approved_list, documents, vans
):
    van = vans[1]
    url = f"/api/deployments/assets/{van.pk}/retire/"
    assert api(actors.officer).post(url, {"reason": REASON}, format="json").status_code == 403
    assert api(approvers.superintendent).post(url, {"reason": ""}, format="json").status_code == 400
    assert Asset.objects.get(pk=van.pk).active and _events("asset.retire") == 0
    retired = api(approvers.superintendent).post(url, {"reason": REASON}, format="json")
    assert retired.status_code == 200 and retired.json()["active"] is False
    event = Event.objects.get(action="asset.retire")
    assert (event.reason, event.target_id) == (REASON, str(van.pk))
    assert api(approvers.superintendent).post(url, {"reason": REASON}, format="json").status_code == 409
    body = plan_body(approved_list, documents, assets=[van.pk])
    refused = api(actors.officer).post("/api/deployments/deployments/", body, format="json")
    assert refused.status_code == 400 and "retired" in str(refused.json())


def test_a_van_booked_on_a_deployment_that_has_not_ended_is_not_retired(approvers, api, client, planned, vans):
    van = vans[0]  # the planned deployment's
    refused = api(approvers.superintendent).post(
        f"/api/deployments/assets/{van.pk}/retire/", {"reason": REASON}, format="json"
    )
    assert refused.status_code == 409 and planned.reference in refused.json()["detail"]
    client.force_login(approvers.superintendent)
    page = client.post(reverse("deployments:asset-retire", args=[van.pk]), {"reason": REASON}, follow=True)
    assert planned.reference in page.content.decode()
    assert Asset.objects.get(pk=van.pk).active and _events("asset.retire") == 0


def test_retiring_on_the_page_revokes_the_vans_credentials(approvers, actors, client, vans):
    from apps.matching.models import CameraCredential
    from apps.matching.services import camera_credentials, live_capture

    token = camera_credentials.issue_credential(approvers.superintendent, vans[1])
    client.force_login(actors.officer)
    assert client.post(reverse("deployments:asset-retire", args=[vans[1].pk]), {"reason": REASON}).status_code == 403
    client.force_login(approvers.superintendent)
    client.post(reverse("deployments:asset-retire", args=[vans[1].pk]), {"reason": ""})
    assert Asset.objects.get(pk=vans[1].pk).active  # no reason: nothing changed
    client.post(reverse("deployments:asset-retire", args=[vans[1].pk]), {"reason": REASON})
    assert not Asset.objects.get(pk=vans[1].pk).active
    assert not CameraCredential.objects.filter(asset=vans[1], revoked_at__isnull=True).exists()
    assert Event.objects.get(action="camera.credential_revoked").reason == f"{vans[1]} was retired."
    assert live_capture.camera_for_token(token) is None
    with pytest.raises(Conflict, match="retired"):
        camera_credentials.issue_credential(approvers.superintendent, vans[1])


# --- Policy documents ----------------------------------------------------------------------------------------------


def _document_body(**fields) -> dict:
    review_by = datetime.date.today() + datetime.timedelta(days=200)
    return {"kind": "dpia", "version": "2027.1", "title": "DPIA for LFR", "review_by": review_by.isoformat(), **fields}


def test_a_version_is_recorded_by_one_person_and_approved_by_another(actors, approvers, api, client):
    client.force_login(actors.privacy)  # the data protection officer writes the DPIA
    url = reverse("deployments:documents")
    assert client.post(url, _document_body()).status_code == 302
    document = PolicyDocument.objects.get(version="2027.1")
    assert _events("document.create") == 1
    client.force_login(approvers.superintendent)
    assert client.post(url, _document_body(version="2027.2")).status_code == 302
    own = PolicyDocument.objects.get(version="2027.2")
    refused = api(approvers.superintendent).post(f"/api/deployments/documents/{own.pk}/approve/")
    assert refused.status_code == 403 and "recorded this version" in refused.json()["detail"]
    page = client.post(reverse("deployments:document-approve", args=[own.pk]), follow=True)
    assert "recorded this version" in page.content.decode()
    assert PolicyDocument.objects.get(pk=own.pk).approved_on is None and _events("document.approve") == 0
    done = client.post(reverse("deployments:document-approve", args=[document.pk]))
    assert (
        done.status_code == 302 and PolicyDocument.objects.get(pk=document.pk).approved_by == approvers.superintendent
    )
    assert Event.objects.get(action="document.approve").target_id == str(document.pk)
    assert api(approvers.superintendent2).post(f"/api/deployments/documents/{document.pk}/approve/").status_code == 409


def test_who_may_record_and_approve_documents(actors, approvers, api, client):
    url = reverse("deployments:documents")
    for person in (actors.officer, actors.compiler, actors.oversight):
        client.force_login(person)
        assert client.get(url).status_code == 200
        assert client.post(url, _document_body()).status_code == 403
        assert api(person).post("/api/deployments/documents/", _document_body(), format="json").status_code == 403
    client.force_login(actors.retail)
    assert client.get(url).status_code == 403
    document = services.record_document(actors.privacy, kind="eia", version="1", title="EIA",
                                        review_by=datetime.date.today() + datetime.timedelta(days=90))  # fmt: skip
    client.force_login(actors.privacy)
    assert client.post(reverse("deployments:document-approve", args=[document.pk])).status_code == 403
    assert PolicyDocument.objects.filter(version="2027.1").count() == 0 and _events("document.approve") == 0


def test_a_review_date_in_the_past_or_decades_ahead_is_refused(approvers, api, client):
    past = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    answer = api(approvers.superintendent).post(
        "/api/deployments/documents/", _document_body(review_by=past), format="json"
    )
    assert answer.status_code == 400 and "review_by" in answer.json()
    client.force_login(approvers.superintendent)
    page = client.post(reverse("deployments:documents"), _document_body(review_by="2062-01-01"))
    assert page.status_code == 400 and "years from now" in page.content.decode()
    assert not PolicyDocument.objects.exists() and _events("document.create") == 0


def test_the_register_shows_what_is_due_for_review_and_what_relies_on_it(approvers, client, planned, documents):
    dpia = next(d for d in documents if d.kind == DocumentKind.DPIA)
    PolicyDocument.objects.filter(pk=dpia.pk).update(review_by=datetime.date.today() + datetime.timedelta(days=10))
    register = {s.document.pk: s for s in services.document_register(datetime.date.today())}
    assert register[dpia.pk].status == "due" and register[dpia.pk].relying == [planned.reference]
    client.force_login(approvers.superintendent)
    page = client.get(reverse("deployments:documents")).content.decode()
    due = page[page.index('id="due-for-review"') : page.index("</section>", page.index('id="due-for-review"'))]
    assert f"v{dpia.version}" in due and DocumentKind.EIA.label not in due


def test_the_asset_register_lists_bookings_and_links_credentials_for_a_commander(approvers, actors, client, planned):
    client.force_login(approvers.superintendent)
    page = client.get(reverse("deployments:assets")).content.decode()
    assert planned.reference in page and "Credentials" in page
    client.force_login(actors.officer)
    assert "Credentials" not in client.get(reverse("deployments:assets")).content.decode()
    assert AssetKind.VAN.label in page
