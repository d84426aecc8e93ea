"""Hostile uploads: every file of the corpus, on every upload surface, gets a clear 4xx and leaves nothing behind.

The surfaces: custody images (API and page), the camera's frame and crops endpoints, retrospective search stills
(API and page), and the governed-change evidence upload. Each refusal must say what is wrong, add no row, and add no
audit event except the one refusal the camera endpoints deliberately log (`capture.refused`). When the corpus has
been through, a good file on each surface is accepted, so the process (and the face engine in it) still works.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from PIL import Image

from apps.audit import services as audit
from apps.audit.models import Event
from apps.matching.engine import get_engine
from apps.matching.models import Alert, Capture, CustodyTemplate, DeletionReceipt, Probe, SearchRequest
from apps.matching.services import alert_handling, live_capture
from apps.oversight.models import GovernedChange
from apps.watchlists.choices import LegalBasis
from apps.watchlists.models import CustodyImage, Subject
from govern import uploads

from .corpus import Hostile, hostile_corpus

pytestmark = [pytest.mark.django_db]

STORED = (CustodyImage, CustodyTemplate, Capture, Alert, DeletionReceipt, SearchRequest, Probe, GovernedChange)
REASON = "Laboratory retest of the engine at 0.64 shows lower FPIR with no demographic imbalance."
EQUALITY = "Report section 4: FPIR by sex and by ethnicity within the confidence intervals at 0.64."
CAMERA_SURFACES = {"capture-frame", "capture-crops"}


@dataclass
class Surface:
    """One place a file can be uploaded: how to send a file there, and what a refusal must say."""

    name: str
    send: Callable[[Hostile], object]
    min_side: int | None = None  # the image rule the surface applies (None: settings.IMAGE_MIN_SIDE)
    still: bool = False  # a retrospective still: at most RFR_STILL_MAX_PIXELS
    evidence: bool = False  # the governed-change report, which takes documents, not images


def _upload(item: Hostile) -> SimpleUploadedFile:
    return SimpleUploadedFile(item.filename, item.content, content_type=item.content_type)


@pytest.fixture
def surfaces(live, vans, actors, approvers, api, engine_report):
    """Every upload surface, with a user (or camera) entitled to use it and well-formed fields around the file."""
    subject = Subject.objects.get(family_name="Collins")
    camera = f"Camera {live_capture.issue_credential(approvers.superintendent, vans[0])}"
    compiler_page, officer_page = Client(), Client()
    compiler_page.force_login(actors.compiler)
    officer_page.force_login(actors.officer)
    custody_fields = {
        "captured_on": "2026-01-05",
        "source_system": "Custody suite",
        "legal_basis": LegalBasis.OTHER_LAWFUL,
        "legal_basis_note": "Reliability test",
    }
    search_fields = {"incident_reference": "CAD-4411-22", "crime_type": "Robbery"}
    proposal = {"kind": "threshold", "threshold": "0.640", "reason": REASON, "equality_evidence": EQUALITY}
    proposal["evaluation"] = engine_report.pk
    return [
        Surface(
            "custody-api",
            lambda item: api(actors.compiler).post(
                f"/api/watchlists/subjects/{subject.pk}/images/",
                {"image": _upload(item), **custody_fields},
                format="multipart",
            ),
        ),
        Surface(
            "custody-page",
            lambda item: compiler_page.post(
                reverse("watchlists:image-upload", args=[subject.pk]), {"image": _upload(item), **custody_fields}
            ),
        ),
        Surface(
            "capture-frame",
            lambda item: Client().post(
                "/api/matching/capture/", item.content, content_type=item.content_type, HTTP_AUTHORIZATION=camera
            ),
        ),
        Surface(
            "capture-crops",
            lambda item: Client().post(
                "/api/matching/capture/crops/", {"crop": [_upload(item)]}, HTTP_AUTHORIZATION=camera
            ),
            min_side=32,
        ),
        Surface(
            "search-api",
            lambda item: api(actors.officer).post(
                "/api/matching/searches/", {"stills": [_upload(item)], **search_fields}, format="multipart"
            ),
            still=True,
        ),
        Surface(
            "search-page",
            lambda item: officer_page.post(reverse("matching:searches"), {"stills": [_upload(item)], **search_fields}),
            still=True,
        ),
        Surface(
            "evidence-api",
            lambda item: api(approvers.superintendent).post(
                "/api/oversight/changes/", {"evidence": _upload(item), **proposal}, format="multipart"
            ),
            evidence=True,
        ),
    ]


def _expected_message(surface: Surface, item: Hostile, settings) -> str:
    """What the refusal must say: the image validator's own reason, or the evidence rule that applies."""
    if not item.content:
        return "empty"
    if surface.evidence:
        if len(item.content) > settings.GOVERNANCE_EVIDENCE_MAX_BYTES:
            return "larger than"
        return "Attach a PDF, text, CSV or JSON report"
    try:
        max_pixels = settings.RFR_STILL_MAX_PIXELS if surface.still else None
        uploads.validate_image(item.content, min_side=surface.min_side, max_pixels=max_pixels)
    except uploads.ImageRejected as exc:
        return str(exc)
    raise AssertionError(f"{item.name} is accepted by the validator: it does not belong in the hostile corpus")


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in STORED}


def _refusal_problems(surface: Surface, item: Hostile, response, before: dict, size: int, settings) -> list[str]:
    """Everything wrong with how the surface answered one hostile file (empty when it was refused cleanly)."""
    problems = []
    body = response.content.decode("utf-8", "replace")
    page = response.get("Content-Type", "").startswith("text/html")
    if page:
        # A page re-renders its form with the error (200), as Django forms do; it must not redirect (success).
        if response.status_code != 200:
            problems.append(f"answered {response.status_code}, not the form again with its error")
    elif not 400 <= response.status_code < 500:
        problems.append(f"answered {response.status_code}, not a 4xx")
    expected = _expected_message(surface, item, settings)
    if (escape(expected) if page else expected) not in body:
        problems.append(f"does not say {expected!r}: {body[:300]!r}")
    if _counts() != before:
        problems.append(f"stored something: {before} -> {_counts()}")
    added = list(Event.objects.filter(seq__gt=size).order_by("seq").values_list("action", "reason"))
    if surface.name in CAMERA_SURFACES and added:
        # The camera endpoints log each refused frame once (a camera sending junk is an operational fact).
        if [action for action, _ in added] != ["capture.refused"] or expected not in added[0][1]:
            problems.append(f"logged {added}, not one capture.refused event with the reason")
    elif added:
        problems.append(f"logged {added}")
    return problems


def _good_file(surface: Surface, photo: bytes) -> Hostile:
    if surface.evidence:
        return Hostile("report", b"TPIR 89%, FPIR 1/6000 at 0.64.", "report.txt", "text/plain", "a good report")
    return Hostile("photo", photo, "photo.jpg", "image/jpeg", "a good photograph")


def test_every_hostile_file_is_refused_on_every_surface_and_leaves_nothing(surfaces, astronaut, settings):
    corpus = hostile_corpus()
    problems = []
    for surface in surfaces:
        for item in corpus:
            before, size = _counts(), audit.tree_size()
            response = surface.send(item)
            for problem in _refusal_problems(surface, item, response, before, size, settings):
                problems.append(f"{surface.name} / {item.name} ({item.why}): {problem}")
    assert not problems, "\n".join(problems)
    assert len(corpus) * len(surfaces) == 22 * 7  # the figures in docs/reliability.md

    # The process, and the face engine inside it, still serve: a good file is accepted on every surface.
    for surface in surfaces:
        if surface.name == "capture-crops":
            face = get_engine().detect(Image.open(io.BytesIO(astronaut)))[0]
            good = Hostile("crop", face.crop_jpeg(), "face.jpg", "image/jpeg", "a face crop")
        else:
            good = _good_file(surface, astronaut)
        response = surface.send(good)
        assert response.status_code in (201, 302), (surface.name, response.status_code, response.content[:300])


def test_a_body_above_the_request_limit_is_413_on_every_surface_before_any_view_runs(surfaces, settings):
    body = b"\xff\xd8\xff" + b"\x00" * settings.MAX_REQUEST_BODY_BYTES
    oversized = Hostile("oversized-body", body, "big.jpg", "image/jpeg", "a body above MAX_REQUEST_BODY_BYTES")
    for surface in surfaces:
        before, size = _counts(), audit.tree_size()
        response = surface.send(oversized)
        assert response.status_code == 413, (surface.name, response.status_code)
        assert "Request body too large" in response.json()["detail"]
        assert _counts() == before and audit.tree_size() == size, surface.name


@pytest.mark.parametrize(
    ("mode", "image_format"),
    [("CMYK", "JPEG"), ("I;16", "PNG"), ("L", "JPEG"), ("P", "PNG"), ("RGBA", "PNG"), ("RGB", "WEBP")],
)
def test_unusual_but_valid_frames_are_matched_not_crashed_on(live, vans, approvers, astronaut, mode, image_format):
    """A CMYK JPEG, a 16-bit PNG and other colour modes are images: the engine converts them, never a 500."""
    frame = Image.open(io.BytesIO(astronaut))
    if mode == "I;16":  # 16-bit greyscale, as some CCTV exports are
        frame = Image.fromarray(np.asarray(frame.convert("L"), dtype=np.uint16) * 257)
    else:
        frame = frame.convert(mode)
    out = io.BytesIO()
    frame.save(out, image_format)
    camera = f"Camera {live_capture.issue_credential(approvers.superintendent, vans[0])}"
    response = Client().post(
        "/api/matching/capture/",
        out.getvalue(),
        content_type=f"image/{image_format.lower()}",
        HTTP_AUTHORIZATION=camera,
    )
    assert response.status_code == 201, response.content[:300]
    assert alert_handling.reconciliation(live)["reconciles"]
