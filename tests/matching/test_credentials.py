"""Camera credentials on the page and the API (issue 23): issued with the secret shown once and kept only as a hash,
listed without secrets, revoked with a reason; a commander's work, logged, refused to every other role."""

import datetime
import hashlib
import json
import logging

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Event
from apps.matching.models import CameraCredential
from apps.matching.services import camera_credentials, live_capture

pytestmark = pytest.mark.django_db
URL = "/api/matching/credentials/"


def _stored_anywhere(secret: str) -> bool:
    """Whether the secret (or its secret half) is in a credential row or any audit event."""
    half = secret.partition(".")[2]
    rows = [json.dumps(list(CameraCredential.objects.values_list("key_id", "secret_sha256")))]
    rows += [json.dumps([e.data, e.reason]) for e in Event.objects.all()]
    return any(half in row for row in rows)


def test_issue_through_the_api_shows_the_secret_once_and_it_opens_the_capture_endpoint(
    approvers, api, client, live, vans, astronaut
):
    issued = api(approvers.superintendent).post(URL, {"asset": vans[0].pk}, format="json")
    assert issued.status_code == 201 and issued["Cache-Control"] == "no-store"
    secret = issued.json()["secret"]
    assert secret.startswith(issued.json()["key_id"] + ".") and issued.json()["issued_by"] == "supt"
    stored = CameraCredential.objects.get(key_id=issued.json()["key_id"])
    assert stored.secret_sha256 == hashlib.sha256(secret.partition(".")[2].encode()).hexdigest()
    assert not _stored_anywhere(secret)
    assert Event.objects.get(action="camera.credential_issued").data["key_id"] == stored.key_id
    listed = api(approvers.superintendent).get(URL, {"asset": vans[0].pk})
    assert listed.status_code == 200 and "secret" not in json.dumps(listed.json())
    assert [c["key_id"] for c in listed.json()["results"]] == [stored.key_id]
    detail = api(approvers.superintendent).get(f"{URL}{stored.pk}/").json()
    assert "secret" not in detail and detail["revoked_at"] is None
    frame = client.post("/api/matching/capture/", astronaut, content_type="image/jpeg",
                        HTTP_AUTHORIZATION=f"Camera {secret}")  # fmt: skip
    assert frame.status_code == 201


def test_revoking_through_the_api_needs_a_reason_and_stops_the_camera(approvers, api, client, live, vans, astronaut):
    secret = camera_credentials.issue_credential(approvers.superintendent, vans[0])
    credential = CameraCredential.objects.get()
    url = f"{URL}{credential.pk}/revoke/"
    assert api(approvers.superintendent).post(url, {"reason": ""}, format="json").status_code == 400
    assert api(approvers.superintendent).post(url, {}, format="json").status_code == 400
    assert (
        CameraCredential.objects.get().revoked_at is None
        and not Event.objects.filter(action="camera.credential_revoked").exists()
    )
    revoked = api(approvers.superintendent).post(url, {"reason": "Laptop stolen from the van"}, format="json")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    event = Event.objects.get(action="camera.credential_revoked")
    assert (event.reason, event.data["key_id"]) == ("Laptop stolen from the van", credential.key_id)
    assert api(approvers.superintendent).post(url, {"reason": "again"}, format="json").status_code == 409
    frame = client.post("/api/matching/capture/", astronaut, content_type="image/jpeg",
                        HTTP_AUTHORIZATION=f"Camera {secret}")  # fmt: skip
    assert frame.status_code == 401


def test_only_a_commander_issues_lists_and_revokes_on_the_api(actors, approvers, api, vans):
    camera_credentials.issue_credential(approvers.superintendent, vans[0])
    credential = CameraCredential.objects.get()
    for person in (actors.officer, actors.compiler, actors.privacy, actors.oversight, actors.retail, actors.outsider):
        assert api(person).get(URL).status_code == 403
        assert api(person).post(URL, {"asset": vans[0].pk}, format="json").status_code == 403
        refused = api(person).post(f"{URL}{credential.pk}/revoke/", {"reason": "Not mine to do"}, format="json")
        assert refused.status_code == 403
    assert api().get(URL).status_code == 401
    assert CameraCredential.objects.count() == 1 and CameraCredential.objects.get().revoked_at is None
    assert Event.objects.filter(action="camera.credential_issued").count() == 1


def test_a_retired_asset_is_issued_no_credential(approvers, api, vans):
    from apps.deployments import services as deployments

    deployments.retire_asset(approvers.superintendent, vans[1], reason="Sold")
    refused = api(approvers.superintendent).post(URL, {"asset": vans[1].pk}, format="json")
    assert refused.status_code == 409 and "retired" in refused.json()["detail"]
    assert api(approvers.superintendent).post(URL, {"asset": 999999}, format="json").status_code == 400
    assert not CameraCredential.objects.exists()


def test_a_new_credential_revokes_the_old_one_and_logs_it(approvers, vans):
    old = camera_credentials.issue_credential(approvers.superintendent, vans[0])
    camera_credentials.issue_credential(approvers.superintendent, vans[0])
    assert live_capture.camera_for_token(old) is None
    revoked = Event.objects.get(action="camera.credential_revoked")
    assert revoked.data["key_id"] == old.partition(".")[0]
    assert Event.objects.filter(action="camera.credential_issued").last().data["replaced"] == [old.partition(".")[0]]


def test_the_page_issues_a_credential_shown_once_and_revokes_it(actors, approvers, client, vans):
    url = reverse("matching:credentials", args=[vans[0].pk])
    client.force_login(approvers.superintendent)
    assert "No credential has been issued" in client.get(url).content.decode()
    issued = client.post(url)
    page = issued.content.decode()
    credential = CameraCredential.objects.get()
    secret = page.split('id="secret" value="')[1].split('"')[0]
    assert issued.status_code == 200 and secret.startswith(credential.key_id + ".")
    assert "no-store" in issued["Cache-Control"] and not _stored_anywhere(secret)
    again = client.get(url).content.decode()
    assert credential.key_id in again and secret not in again and 'id="secret"' not in again
    resubmitted = client.post(url, {"replacing": ""}, follow=True).content.decode()  # the first answer reloaded
    assert "was issued since this page was shown" in resubmitted and 'id="secret"' not in resubmitted
    assert CameraCredential.objects.get().revoked_at is None  # the secret handed out still works
    revoke = reverse("matching:credential-revoke", args=[credential.pk])
    client.post(revoke, {"reason": ""})
    assert CameraCredential.objects.get().revoked_at is None  # no reason: nothing changed
    client.post(revoke, {"reason": "Van off the road"})
    assert CameraCredential.objects.get().revoked_at is not None
    assert Event.objects.get(action="camera.credential_revoked").reason == "Van off the road"
    for person in (actors.officer, actors.privacy, actors.compiler):
        client.force_login(person)
        assert client.get(url).status_code == 403 and client.post(url).status_code == 403
        assert client.post(revoke, {"reason": "Not mine"}).status_code == 403
    assert CameraCredential.objects.count() == 1


def test_no_log_record_holds_an_issued_secret(approvers, api, client, vans, caplog):
    """Every logger at DEBUG, SQL and its parameters too, while a secret is issued on the API and on the page."""
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.propagate, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.propagate, logger.disabled = True, False
    connection.force_debug_cursor = True
    try:
        secrets = [api(approvers.superintendent).post(URL, {"asset": vans[0].pk}, format="json").json()["secret"]]
        client.force_login(approvers.superintendent)
        page = client.post(reverse("matching:credentials", args=[vans[1].pk])).content.decode()
        secrets.append(page.split('id="secret" value="')[1].split('"')[0])
    finally:
        connection.force_debug_cursor = False
        for logger, level, propagate, disabled in saved:
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled
    texts = [record.getMessage() for record in caplog.records]
    assert any("matching_cameracredential" in text for text in texts), "the SQL was not logged: this proves nothing"
    assert not [text for text in texts for secret in secrets if secret.partition(".")[2] in text]


def test_a_frame_records_when_its_credential_was_last_used(approvers, api, client, live, vans, astronaut):
    secret = camera_credentials.issue_credential(approvers.superintendent, vans[0])
    credential = CameraCredential.objects.get()
    assert credential.last_used_at is None
    assert api(approvers.superintendent).get(f"{URL}{credential.pk}/").json()["last_used_at"] is None
    frame = client.post("/api/matching/capture/", astronaut, content_type="image/jpeg",
                        HTTP_AUTHORIZATION=f"Camera {secret}")  # fmt: skip
    assert frame.status_code == 201
    credential.refresh_from_db()
    assert credential.last_used_at is not None
    listed = api(approvers.superintendent).get(URL, {"asset": vans[0].pk}).json()["results"]
    assert listed[0]["last_used_at"] is not None
    client.force_login(approvers.superintendent)
    page = client.get(reverse("matching:credentials", args=[vans[0].pk])).content.decode()
    used = f'<td class="last-used">{credential.last_used_at.astimezone(timezone.get_current_timezone()):%Y-%m-%d %H:%M}'
    assert used in page


def test_a_wrong_secret_records_no_use(approvers, client, live, vans, astronaut):
    secret = camera_credentials.issue_credential(approvers.superintendent, vans[0])
    wrong = secret.partition(".")[0] + ".not-the-secret"
    refused = client.post("/api/matching/capture/", astronaut, content_type="image/jpeg",
                          HTTP_AUTHORIZATION=f"Camera {wrong}")  # fmt: skip
    assert refused.status_code == 401 and CameraCredential.objects.get().last_used_at is None


def test_a_credentials_use_is_written_at_most_once_a_minute(approvers, vans, django_assert_num_queries, monkeypatch):
    camera_credentials.issue_credential(approvers.superintendent, vans[0])
    key_id = CameraCredential.objects.get().key_id
    start = timezone.now()
    assert camera_credentials.record_use(key_id, start)
    with django_assert_num_queries(0):  # the next frames within the minute ask the database nothing
        assert not camera_credentials.record_use(key_id, start + datetime.timedelta(seconds=59))
    monkeypatch.setattr(camera_credentials, "_uses_recorded", {})  # another process, which has written nothing
    assert not camera_credentials.record_use(key_id, start + datetime.timedelta(seconds=30))  # the row says too soon
    assert CameraCredential.objects.get().last_used_at == start
    later = start + datetime.timedelta(seconds=91)  # that process asks again a minute after it last asked
    assert camera_credentials.record_use(key_id, later)
    assert CameraCredential.objects.get().last_used_at == later
