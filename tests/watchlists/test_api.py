"""The watchlists API: the same rules as the services, clear 4xx for bad input, reads of personal data logged."""

import datetime
import io
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.audit.models import Event
from apps.watchlists.choices import Category, WatchlistState
from apps.watchlists.models import CustodyImage, Entry, Subject, Watchlist
from tests.watchlist_fixtures import JUSTIFICATION, NEW_SUBJECT, make_jpeg

pytestmark = pytest.mark.django_db
REASON = {"reason": "Preparing the briefing for WL review"}


def _upload(client, subject_id, content, name="photo.jpg", content_type="image/jpeg"):
    return client.post(
        f"/api/watchlists/subjects/{subject_id}/images/",
        {"image": SimpleUploadedFile(name, content, content_type=content_type), "captured_on": "2026-02-01",
         "source_system": "Custody suite B", "legal_basis": "pace_custody"},
        format="multipart",
    )  # fmt: skip


def _png_bomb() -> bytes:
    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = (50000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


def test_compiler_creates_a_subject_uploads_an_image_and_builds_a_list(actors, api, now):
    client = api(actors.compiler)
    created = client.post("/api/watchlists/subjects/", NEW_SUBJECT, format="json")
    assert created.status_code == 201, created.json()
    subject_id = created.json()["id"]
    uploaded = _upload(client, subject_id, make_jpeg())
    assert uploaded.status_code == 201, uploaded.json()
    image_id = uploaded.json()["id"]
    assert uploaded.json()["content_type"] == "image/jpeg"

    listed = client.post(
        "/api/watchlists/watchlists/",
        {
            "purpose": "LFR, Leicester Square, evening",
            "intended_start": (now + datetime.timedelta(hours=3)).isoformat(),
            "intended_end": (now + datetime.timedelta(hours=9)).isoformat(),
        },
        format="json",
    )
    assert listed.status_code == 201, listed.json()
    watchlist_id = listed.json()["id"]
    assert listed["ETag"] == '"r1"'
    entry = client.post(
        f"/api/watchlists/watchlists/{watchlist_id}/entries/",
        {"subject": subject_id, "image": image_id, "category": "wanted_by_courts", "justification": JUSTIFICATION},
        format="json",
        HTTP_IF_MATCH=listed["ETag"],
    )
    assert entry.status_code == 201, entry.json()
    assert entry["ETag"] == '"r2"'
    stale = client.post(f"/api/watchlists/watchlists/{watchlist_id}/submit/", HTTP_IF_MATCH='"r1"')
    assert stale.status_code == 412
    submitted = client.post(f"/api/watchlists/watchlists/{watchlist_id}/submit/", HTTP_IF_MATCH=entry["ETag"])
    assert submitted.status_code == 200 and submitted.json()["state"] == "submitted"


@pytest.fixture
def submitted_api(submitted):
    watchlist, review = submitted
    return watchlist, review


def test_the_compiler_cannot_approve_through_the_api(actors, api, submitted_api):
    watchlist, review = submitted_api
    response = api(actors.compiler).post(
        f"/api/watchlists/watchlists/{watchlist.pk}/approve/", {"content_hash": review.content_hash}, format="json"
    )
    assert response.status_code == 403
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.SUBMITTED


def test_approve_then_a_second_approval_gets_409_and_one_approval_is_logged(approvers, api, submitted_api):
    watchlist, review = submitted_api
    url = f"/api/watchlists/watchlists/{watchlist.pk}/approve/"
    chief = api(approvers.chief_inspector).post(url, {"content_hash": review.content_hash}, format="json")
    assert chief.status_code == 403 and "Superintendent" in chief.json()["detail"]
    first = api(approvers.superintendent).post(url, {"content_hash": review.content_hash}, format="json")
    assert first.status_code == 200 and first.json()["state"] == "approved"
    assert first.json()["approved_hash"] == review.content_hash
    second = api(approvers.superintendent2).post(url, {"content_hash": review.content_hash}, format="json")
    assert second.status_code == 409
    assert Event.objects.filter(action="watchlist.approve").count() == 1


def test_a_stale_if_match_gets_412_and_changes_nothing(actors, api, draft, gallery):
    subject, image = gallery.other
    response = api(actors.compiler).post(
        f"/api/watchlists/watchlists/{draft.pk}/entries/",
        {"subject": subject.pk, "image": image.pk, "category": "wanted_by_courts", "justification": JUSTIFICATION},
        format="json",
        HTTP_IF_MATCH='"r7"',
    )
    assert response.status_code == 412
    assert Entry.objects.filter(watchlist=draft).count() == 1


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [({"category": "anyone_of_interest"}, "category"), ({"justification": ""}, "justification"),
     ({"category": "wanted_for_offence"}, "offence")],
)  # fmt: skip
def test_bad_entries_get_400_and_nothing_is_stored(actors, api, draft, gallery, fields, complaint):
    subject, image = gallery.other
    events = Event.objects.count()
    body = {"subject": subject.pk, "image": image.pk, "category": "wanted_by_courts", "justification": JUSTIFICATION,
            **fields}  # fmt: skip
    response = api(actors.compiler).post(f"/api/watchlists/watchlists/{draft.pk}/entries/", body, format="json")
    assert response.status_code == 400 and complaint in response.json()
    assert Entry.objects.filter(watchlist=draft).count() == 1 and Event.objects.count() == events


def _gif() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (100, 100)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"", "empty.jpg"),
        (b"<html><script>alert(1)</script></html>", "face.jpg"),
        (make_jpeg()[:1500], "truncated.jpg"),
        (_png_bomb(), "bomb.png"),
        (_gif(), "face.gif"),
        (make_jpeg() + b"PK\x03\x04" + b"\x00" * 200, "polyglot.jpg"),
    ],
)
def test_hostile_uploads_get_400_and_nothing_is_stored(actors, api, gallery, content, name):
    subject, _ = gallery.adult
    before = (CustodyImage.objects.count(), Event.objects.count())
    response = _upload(api(actors.compiler), subject.pk, content, name=name)
    assert response.status_code == 400, response.content
    assert "image" in response.json()
    assert (CustodyImage.objects.count(), Event.objects.count()) == before


def test_an_oversized_upload_is_refused(actors, api, gallery, settings):
    settings.IMAGE_MAX_BYTES = 5000
    subject, _ = gallery.adult
    response = _upload(api(actors.compiler), subject.pk, make_jpeg(size=(800, 1000)))
    assert response.status_code == 400 and "image" in response.json()
    settings.MAX_REQUEST_BODY_BYTES = 4096
    response = _upload(api(actors.compiler), subject.pk, make_jpeg(size=(800, 1000)))
    assert response.status_code == 413


def test_reading_entries_needs_a_reason_and_is_logged(actors, approvers, api, submitted_api):
    watchlist, _ = submitted_api
    client = api(approvers.superintendent)
    refused = client.get(f"/api/watchlists/watchlists/{watchlist.pk}/entries/")
    assert refused.status_code == 400 and "reason" in refused.json()
    rows = client.get(f"/api/watchlists/watchlists/{watchlist.pk}/entries/", REASON).json()
    assert rows[0]["subject_name"] == "EXAMPLE, Adam" and rows[0]["category"] == Category.WANTED_BY_COURTS
    event = Event.objects.filter(action="record.consulted", target_type="watchlists.watchlist").get()
    assert event.actor_username == "supt" and event.reason == REASON["reason"]
    assert event.data == {"entries": [rows[0]["id"]]}
    entry = client.get(f"/api/watchlists/entries/{rows[0]['id']}/", REASON)
    assert entry.status_code == 200
    assert Event.objects.filter(action="record.consulted", target_type="watchlists.entry").count() == 1


def test_image_bytes_only_with_a_reason(actors, api, gallery):
    _, image = gallery.adult
    client = api(actors.compiler)
    assert client.get(f"/api/watchlists/images/{image.pk}/content/").status_code == 400
    response = client.get(f"/api/watchlists/images/{image.pk}/content/", REASON)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response.content[:3] == b"\xff\xd8\xff" and response["Cache-Control"] == "no-store"
    assert Event.objects.filter(action="record.consulted", target_type="watchlists.custodyimage").count() == 1


def test_searching_subjects_is_a_logged_consultation(actors, api, gallery):
    client = api(actors.compiler)
    assert client.get("/api/watchlists/subjects/", {"q": "example"}).status_code == 400
    found = client.get("/api/watchlists/subjects/", {"q": "example", **REASON}).json()
    assert [row["family_name"] for row in found["results"]] == ["Example"]
    event = Event.objects.get(action="record.consulted", target_id="search")
    assert event.data["results"] == [found["results"][0]["id"]]


def test_drafts_are_private_to_their_compiler_and_officers_see_no_lists(make_user, actors, api, approvers, draft):
    from govern.roles import Role

    other_compiler = make_user("compiler2", Role.WATCHLIST_COMPILER)
    assert api(actors.compiler).get("/api/watchlists/watchlists/").json()["count"] == 1
    assert api(other_compiler).get("/api/watchlists/watchlists/").json()["count"] == 0
    assert api(approvers.superintendent).get("/api/watchlists/watchlists/").json()["count"] == 0
    assert api(actors.officer).get("/api/watchlists/watchlists/").json()["count"] == 0  # drafts are private
    assert api(actors.privacy).get("/api/watchlists/watchlists/").json()["count"] == 1
    assert api(other_compiler).get(f"/api/watchlists/watchlists/{draft.pk}/").status_code == 404


def test_review_shows_the_snapshot_and_the_changes_since_approval(approvers, api, submitted_api):
    watchlist, review = submitted_api
    body = api(approvers.superintendent).get(f"/api/watchlists/watchlists/{watchlist.pk}/review/", REASON).json()
    assert body["content_hash"] == review.content_hash
    assert body["changes"]["previous_version"] is None
    assert [entry["name"] for entry in body["changes"]["added"]] == ["EXAMPLE, Adam"]


def test_subject_changes_need_a_reason(actors, api, gallery):
    subject, _ = gallery.adult
    client = api(actors.compiler)
    assert (
        client.patch(f"/api/watchlists/subjects/{subject.pk}/", {"given_names": "Adam J"}, format="json").status_code
        == 400
    )
    response = client.patch(
        f"/api/watchlists/subjects/{subject.pk}/",
        {"given_names": "Adam J", "reason": "Corrected from PNC"},
        format="json",
    )
    assert response.status_code == 200
    assert Subject.objects.get(pk=subject.pk).given_names == "Adam J"
    assert Event.objects.get(action="subject.update").reason == "Corrected from PNC"
