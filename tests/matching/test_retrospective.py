"""Retrospective search: one face per still, candidates for officers only, operator then investigator, receipts."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from PIL import Image

from apps.audit.models import Event
from apps.matching.choices import ProbeState, SearchState
from apps.matching.models import CustodyTemplate, Probe, SearchRequest
from apps.matching.services import retrospective
from govern.errors import Conflict, TooMany
from tests.matching_fixtures import astronaut_subject

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _jpeg(image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def gallery_with_a_face(actors, astronaut, engine_approved):
    subject, image = astronaut_subject(actors.compiler, astronaut, pnc_id="56/000002D")
    assert retrospective.enrol_custody_image(image.pk)
    return subject


@pytest.fixture
def two_faces(astronaut) -> bytes:
    face = Image.open(io.BytesIO(astronaut)).convert("RGB")
    both = Image.new("RGB", (face.width * 2, face.height), (255, 255, 255))
    both.paste(face, (0, 0))
    both.paste(face, (face.width, 0))
    return _jpeg(both)


def test_a_still_is_searched_against_custody_images_and_never_enrolled(actors, gallery_with_a_face, astronaut):
    request = retrospective.submit(
        actors.officer, [astronaut], incident_reference="CAD 4411/22NOV", crime_type="Robbery"
    )
    done = retrospective.run_search(request.pk)
    assert (done.state, done.processed, done.total) == (SearchState.READY, 1, 1)
    probe = Probe.objects.get(request=request)
    assert probe.state == ProbeState.SEARCHED
    assert probe.candidates[0]["subject"] == gallery_with_a_face.pk and probe.candidates[0]["score"] > 0.99
    assert CustodyTemplate.objects.count() == 1  # the probe was not added to the gallery
    assert retrospective.run_search(request.pk).processed == 1  # a redelivered task changes nothing


def test_no_face_and_several_faces_are_refused_with_the_reason(actors, gallery_with_a_face, two_faces):
    blank = _jpeg(Image.new("RGB", (640, 480), (90, 90, 90)))
    request = retrospective.submit(actors.officer, [blank, two_faces], incident_reference="CAD 1/1", crime_type="Theft")
    retrospective.run_search(request.pk)
    refusals = list(Probe.objects.filter(request=request).order_by("position").values_list("state", "refusal"))
    assert refusals[0] == (ProbeState.REFUSED, "No face was found in the still.")
    assert refusals[1][0] == ProbeState.REFUSED and "2 faces" in refusals[1][1]


def test_operator_then_a_different_investigating_officer_confirms(make_user, actors, gallery_with_a_face, astronaut):
    from govern.roles import Role

    investigator = make_user("investigator", Role.OFFICER)
    request = retrospective.submit(actors.officer, [astronaut], incident_reference="CAD 9/9", crime_type="Assault")
    retrospective.run_search(request.pk)
    probe = Probe.objects.get(request=request)
    with pytest.raises(ValidationError):
        retrospective.choose(actors.officer, probe, subject_id=999_999, note="looks like him")
    retrospective.choose(actors.officer, probe, subject_id=gallery_with_a_face.pk, note="Same scar, ears, hairline")
    with pytest.raises(PermissionDenied, match="operator who chose"):
        retrospective.confirm(actors.officer, probe, corroboration="CCTV timeline and phone data agree.")
    with pytest.raises(ValidationError):
        retrospective.confirm(investigator, probe, corroboration="ok")
    confirmed = retrospective.confirm(
        investigator, probe, corroboration="Phone cell-site data and the bus CCTV put her at the scene."
    )
    assert confirmed.state == ProbeState.CONFIRMED
    with pytest.raises(Conflict):
        retrospective.confirm(investigator, probe, corroboration="Phone cell-site data again, second time.")


def test_retail_partners_submit_with_an_agreement_and_never_see_candidates(actors, api, gallery_with_a_face, astronaut):
    with pytest.raises(ValidationError, match="data-sharing agreement"):
        retrospective.submit(actors.retail, [astronaut], incident_reference="STORE-881", crime_type="Shop theft")
    request = retrospective.submit(
        actors.retail,
        [astronaut],
        incident_reference="STORE-881",
        crime_type="Shop theft",
        sharing_agreement="DSA-2026-014",
    )
    retrospective.run_search(request.pk)
    status = api(actors.retail).get(f"/api/matching/searches/{request.pk}/").json()
    assert status["state"] == "ready" and "candidates" not in str(status) and "Collins" not in str(status)
    assert (
        api(actors.retail)
        .get(f"/api/matching/searches/{request.pk}/probes/", {"reason": "checking my submission"})
        .status_code
        == 403
    )
    officer = api(actors.officer).get(
        f"/api/matching/searches/{request.pk}/probes/", {"reason": "Reviewing candidates for STORE-881"}
    )
    assert officer.status_code == 200 and officer.json()[0]["candidates"][0]["subject"] == gallery_with_a_face.pk


def test_retail_partners_see_only_their_own_submissions(make_user, actors, api, astronaut, gallery_with_a_face):
    from govern.roles import Role

    other = make_user("otherstore", Role.RETAIL_PARTNER)
    mine = retrospective.submit(
        actors.retail, [astronaut], incident_reference="S-1", crime_type="Theft", sharing_agreement="DSA-1"
    )
    assert api(other).get(f"/api/matching/searches/{mine.pk}/").status_code == 404
    assert api(actors.retail).get("/api/matching/searches/").json()["count"] == 1
    assert api(other).get("/api/matching/searches/").json()["count"] == 0


def test_closing_the_case_deletes_the_stills_with_receipts(actors, gallery_with_a_face, astronaut):
    request = retrospective.submit(
        actors.officer, [astronaut, astronaut], incident_reference="CAD 7/7", crime_type="Robbery"
    )
    retrospective.run_search(request.pk)
    retrospective.close(actors.officer, request, reason="Case closed: charged")
    assert not Probe.objects.filter(request=request, ciphertext__isnull=False).exists()
    assert Event.objects.filter(action="probe.deleted").count() == 2
    with pytest.raises(Conflict):
        retrospective.close(actors.officer, request, reason="again")


def test_a_closed_searchs_stills_show_as_deleted_and_a_refusal_stays(actors, api, gallery_with_a_face, astronaut):
    blank = _jpeg(Image.new("RGB", (320, 240), (200, 200, 200)))
    request = retrospective.submit(actors.officer, [astronaut, blank], incident_reference="CAD 8/8", crime_type="Theft")
    retrospective.run_search(request.pk)
    client = api(actors.officer)
    assert client.post(f"/api/matching/searches/{request.pk}/close/", {}, format="json").status_code == 400
    closed = client.post(f"/api/matching/searches/{request.pk}/close/", {"reason": "Charged"}, format="json")
    assert closed.status_code == 200 and closed.json()["state"] == SearchState.CLOSED
    assert [row["position"] for row in closed.json()["refused"]] == [2]  # the refusal is still said
    probes = client.get(f"/api/matching/searches/{request.pk}/probes/", {"reason": "Closing the file on CAD 8/8"})
    assert [probe["state"] for probe in probes.json()] == [ProbeState.DELETED, ProbeState.DELETED]
    assert [event.data["from_state"] for event in Event.objects.filter(action="probe.deleted").order_by("seq")] == [
        ProbeState.SEARCHED,
        ProbeState.REFUSED,
    ]


def test_the_pages_show_a_retail_partner_the_status_but_never_candidates(
    actors, client, gallery_with_a_face, astronaut
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    client.force_login(actors.retail)
    page = client.post(
        reverse("matching:searches"),
        {
            "incident_reference": "STORE-12",
            "crime_type": "Shop theft",
            "sharing_agreement": "DSA-2026-014",
            "stills": [SimpleUploadedFile("cctv.jpg", astronaut, "image/jpeg")],
        },
    )
    assert page.status_code == 302
    search = Probe.objects.get().request
    retrospective.run_search(search.pk)
    status = client.get(reverse("matching:search", args=[search.pk])).content.decode()
    assert "Searched: the police are reviewing the results" in status and "Candidates ready" not in status
    assert "Collins" not in status.upper().title() and "review-link" not in status
    listed = client.get(reverse("matching:searches")).content.decode()
    assert "Searched: the police are reviewing the results" in listed and "Candidates ready for review" not in listed
    review = client.get(reverse("matching:search-review", args=[search.pk]), {"reason": "want to see"})
    assert review.status_code == 403
    client.force_login(actors.officer)
    review = client.get(reverse("matching:search-review", args=[search.pk]), {"reason": "Reviewing STORE-12"})
    assert review.status_code == 200 and "COLLINS, Eileen" in review.content.decode()


# --- What a retail partner may cost (issue 20, item 7) -------------------------------------------------------------


def _big_png(side: int = 6000) -> bytes:
    """A flat PNG of side x side pixels: tens of kilobytes on the wire, side² pixels to decode."""
    out = io.BytesIO()
    Image.new("RGB", (side, side), (200, 200, 200)).save(out, "PNG", optimize=True)
    return out.getvalue()


def _partner_submit(actors, stills, reference="STORE-1"):
    return retrospective.submit(
        actors.retail, stills, incident_reference=reference, crime_type="Theft", sharing_agreement="DSA-1"
    )


def test_a_partner_cannot_send_the_sixty_large_pngs(actors, settings):
    from govern.errors import TooLarge

    png = _big_png(4100)  # 16.8 Mpx: over the per-still limit of 16 Mpx
    with pytest.raises(TooLarge, match="at most 20"):
        _partner_submit(actors, [png] * 60)
    with pytest.raises(ValidationError, match="more than the limit of 16,000,000"):
        _partner_submit(actors, [png])
    settings.RFR_PARTNER_MAX_PIXELS = 20_000_000
    with pytest.raises(TooLarge, match="reached at still 3"):
        _partner_submit(actors, [_big_png(3000)] * 3)  # 9 Mpx each
    assert not Probe.objects.exists()


def test_a_partner_has_searches_a_day_and_at_once(actors, astronaut, settings):

    settings.RFR_PARTNER_SEARCHES_AT_ONCE, settings.RFR_PARTNER_SEARCHES_PER_DAY = 2, 3
    first = _partner_submit(actors, [astronaut], "S-1")
    _partner_submit(actors, [astronaut], "S-2")
    with pytest.raises(TooMany, match="still running"):
        _partner_submit(actors, [astronaut], "S-3")
    SearchRequest.objects.filter(pk=first.pk).update(state=SearchState.READY)
    _partner_submit(actors, [astronaut], "S-3")
    SearchRequest.objects.update(state=SearchState.READY)
    with pytest.raises(TooMany, match="3 searches in the last 24 hours"):
        _partner_submit(actors, [astronaut], "S-4")
    retrospective.submit(actors.officer, [astronaut], incident_reference="CAD 1", crime_type="Robbery")  # no quota


def test_the_searches_page_tells_a_partner_its_allowance_before_it_types(actors, client, astronaut, settings):
    from django.urls import reverse

    settings.RFR_PARTNER_SEARCHES_PER_DAY = 2
    client.force_login(actors.retail)
    page = client.get(reverse("matching:searches")).content.decode()
    assert "You have sent 0 of your 2 searches in the last 24 hours" in page and 'id="search-form"' in page
    first = _partner_submit(actors, [astronaut], "S-1")
    _partner_submit(actors, [astronaut], "S-2")
    SearchRequest.objects.update(state=SearchState.READY)
    page = client.get(reverse("matching:searches")).content.decode()
    frees = timezone.localtime(first.submitted_at + datetime.timedelta(days=1)).strftime("%H:%M on %-d %b")
    assert f"2 searches in the last 24 hours is this partner&#x27;s limit: the next may be sent from {frees}" in page
    assert 'id="search-form"' not in page  # no form to fill in only to be refused
    client.force_login(actors.officer)
    assert 'id="allowance"' not in client.get(reverse("matching:searches")).content.decode()  # the police have none


def test_an_allowance_of_one_search_reads_in_the_singular(actors, client, astronaut, settings):
    from django.urls import reverse

    settings.RFR_PARTNER_SEARCHES_PER_DAY, settings.RFR_PARTNER_SEARCHES_AT_ONCE = 2, 1
    client.force_login(actors.retail)
    _partner_submit(actors, [astronaut], "S-1")
    with pytest.raises(TooMany, match="This partner's search is still running: wait for it to finish"):
        _partner_submit(actors, [astronaut], "S-2")
    SearchRequest.objects.update(state=SearchState.READY)
    settings.RFR_PARTNER_SEARCHES_PER_DAY = 1
    with pytest.raises(TooMany, match=r"^1 search in the last 24 hours"):
        _partner_submit(actors, [astronaut], "S-2")
    SearchRequest.objects.all().delete()
    assert "0 of your 1 search in the last 24 hours" in client.get(reverse("matching:searches")).content.decode()


def test_the_day_s_refusal_says_when_the_next_search_may_be_sent(actors, api, astronaut, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.RFR_PARTNER_SEARCHES_PER_DAY = 1
    first = _partner_submit(actors, [astronaut], "S-1")
    SearchRequest.objects.update(state=SearchState.READY, submitted_at=timezone.now() - datetime.timedelta(hours=23))
    body = {"incident_reference": "S-2", "crime_type": "Theft", "sharing_agreement": "DSA-1",
            "stills": [SimpleUploadedFile("s.jpg", astronaut, "image/jpeg")]}  # fmt: skip
    refused = api(actors.retail).post("/api/matching/searches/", body, format="multipart")
    assert refused.status_code == 429 and "the next may be sent from" in refused.json()["detail"]
    assert 3500 <= int(refused["Retry-After"]) <= 3602  # the first search leaves the window in an hour, not a minute
    assert list(SearchRequest.objects.all()) == [first]


def test_a_partner_s_form_asks_for_the_agreement_with_the_other_fields(actors, client, astronaut):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    client.force_login(actors.retail)
    form = client.get(reverse("matching:searches")).content.decode()
    assert "Data-sharing agreement reference" in form
    body = {"incident_reference": "", "crime_type": "Theft", "stills": [SimpleUploadedFile("s.jpg", astronaut)]}
    refused = client.post(reverse("matching:searches"), body).content.decode()
    assert refused.count('class="govuk-error-message"') == 2  # the incident and the agreement, at once
    assert not SearchRequest.objects.exists()


def test_the_api_answers_413_and_429_with_the_reason(actors, api, astronaut, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.RFR_PARTNER_SEARCHES_AT_ONCE = 1

    def post(count):
        files = [SimpleUploadedFile(f"s{n}.jpg", astronaut, "image/jpeg") for n in range(count)]
        body = {"incident_reference": "S-9", "crime_type": "Theft", "sharing_agreement": "DSA-1", "stills": files}
        return api(actors.retail).post("/api/matching/searches/", body, format="multipart")

    too_many_stills = post(21)
    assert too_many_stills.status_code == 413 and "at most 20" in too_many_stills.json()["detail"]
    assert post(1).status_code == 201
    busy = post(1)
    assert busy.status_code == 429 and busy["Retry-After"] and "still running" in busy.json()["detail"]


def test_a_still_is_scaled_down_before_detection(actors, gallery_with_a_face, astronaut, monkeypatch, settings):
    """The cost of one still is bounded: whatever its size, the detector sees at most RFR_DETECT_MAX_SIDE a side."""
    from apps.matching import engine as engine_module

    seen = []
    real = engine_module.get_engine()
    detect = real.detect

    def spy(image, *args, **kwargs):
        seen.append(image.size)
        return detect(image, *args, **kwargs)

    monkeypatch.setattr(real, "detect", spy)
    settings.RFR_DETECT_MAX_SIDE = 512
    large = Image.open(io.BytesIO(astronaut)).convert("RGB").resize((3000, 3000))
    request = retrospective.submit(actors.officer, [_jpeg(large)], incident_reference="CAD 9", crime_type="Robbery")
    retrospective.run_search(request.pk)
    assert seen and max(max(size) for size in seen) <= 512


def test_a_search_whose_every_still_was_refused_says_so(actors, client, gallery_with_a_face, two_faces):
    blank = _jpeg(Image.new("RGB", (640, 480), (90, 90, 90)))
    request = retrospective.submit(actors.officer, [blank, two_faces], incident_reference="CAD 2/2", crime_type="Theft")
    done = retrospective.run_search(request.pk)
    assert done.all_refused and done.status_label == "Every still was refused: no candidates to review"
    client.force_login(actors.officer)
    page = client.get(f"/matching/searches/{request.pk}/").content.decode()
    assert "Every still was refused" in page and 'id="all-refused"' in page
    assert "Candidates ready for review" not in page and 'id="review-link"' not in page
    listed = client.get("/matching/searches/").content.decode()  # the list says so too, not "ready for review"
    assert "Every still was refused" in listed


def test_a_search_with_one_still_searched_is_ready_for_review(actors, gallery_with_a_face, astronaut):
    blank = _jpeg(Image.new("RGB", (640, 480), (90, 90, 90)))
    request = retrospective.submit(actors.officer, [blank, astronaut], incident_reference="CAD 3/3", crime_type="Theft")
    done = retrospective.run_search(request.pk)
    assert not done.all_refused and done.status_label == "Candidates ready for review"
