"""Shared fixtures (a pytest plugin): approvers of each rank, a gallery, and watchlists drafted, submitted, approved."""

import datetime
import io

import pytest
from django.utils import timezone
from PIL import Image, ImageDraw

from apps.watchlists.choices import ApprovalRoute, Category, LegalBasis
from apps.watchlists.services import custody, watchlists
from govern.roles import Rank, Role


def make_jpeg(size=(240, 300), colour=(180, 140, 120), seed=0) -> bytes:
    """A small synthetic portrait-shaped JPEG (not a real person)."""
    image = Image.new("RGB", size, (230, 230, 235))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse([w * 0.25, h * 0.2, w * 0.75, h * 0.75], fill=colour)
    draw.ellipse([w * 0.38 + seed % 5, h * 0.4, w * 0.45 + seed % 5, h * 0.46], fill=(30, 30, 30))
    draw.ellipse([w * 0.55, h * 0.4, w * 0.62, h * 0.46], fill=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture
def approvers(make_user):
    """Authorising officers of each rank that matters."""

    class Approvers:
        superintendent = make_user("supt", Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT)
        superintendent2 = make_user("supt2", Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT)
        chief_inspector = make_user("chinsp", Role.AUTHORISING_OFFICER, rank=Rank.CHIEF_INSPECTOR)
        inspector = make_user("insp", Role.AUTHORISING_OFFICER, rank=Rank.INSPECTOR)

    return Approvers


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def gallery(actors):
    """Two adult subjects and a 16-year-old, each with one image."""

    def subject(family, given, born, pnc):
        person = custody.create_subject(
            actors.compiler,
            family_name=family,
            given_names=given,
            date_of_birth=born,
            pnc_id=pnc,
            sex="male",
            ethnicity="W1",
        )
        image = custody.upload_image(
            actors.compiler,
            person,
            make_jpeg(seed=len(family)),
            captured_on=datetime.date(2026, 3, 1),
            source_system="Custody suite A",
            legal_basis=LegalBasis.PACE_CUSTODY,
        )
        return person, image

    class Gallery:
        adult = subject("Example", "Adam", datetime.date(1990, 5, 17), "90/123456A")
        other = subject("Sample", "Ben", datetime.date(1985, 1, 2), "85/654321B")
        child = subject("Minor", "Carl", timezone.localdate() - datetime.timedelta(days=16 * 365), "10/111111C")

    return Gallery


# What a compiler types to record a new subject, in the page's form or to the API.
NEW_SUBJECT = {
    "family_name": "Doe",
    "given_names": "Jo",
    "date_of_birth": "1991-04-03",
    "pnc_id": "91/000001X",
    "sex": "female",
    "ethnicity": "B2",
}
JUSTIFICATION = "Wanted on a warrant issued by Westminster Magistrates for failing to appear, 12 Oct 2026."
PURPOSE = "LFR at Oxford Circus: wanted offenders"


def list_person(compiler, watchlist, subject, image, *, now, **fields):
    """Put the person on the list as the compiler: wanted by the courts, on a warrant, unless `fields` say otherwise."""
    fields = {"category": Category.WANTED_BY_COURTS, "justification": JUSTIFICATION, **fields}
    return watchlists.add_entry(compiler, watchlist, subject=subject, image=image, now=now, **fields)


def compile_watchlist(compiler, subject, image, *, now, start=None, end=None, purpose=PURPOSE):
    """A draft list with one person on it, wanted by the courts, as the compiler makes it; by default it starts in 6
    hours and lasts 6 hours."""
    start = now + datetime.timedelta(hours=6) if start is None else start
    end = start + datetime.timedelta(hours=6) if end is None else end
    watchlist = watchlists.create_watchlist(compiler, purpose=purpose, intended_start=start, intended_end=end, now=now)
    list_person(compiler, watchlist, subject, image, now=now)
    watchlist.refresh_from_db()
    return watchlist


def submit_and_approve(compiler, approver, watchlist, *, now):
    """The compiler submits the list and the approver approves the version submitted; the list as approved."""
    review = watchlists.submit(compiler, watchlist, now=now)
    watchlists.approve(approver, watchlist, content_hash=review.content_hash, now=now)
    watchlist.refresh_from_db()
    return watchlist


def approve_urgently(approver, watchlist, content_hash, *, now):
    """Approve by the urgent route, with its reason: an inspector may, and a superintendent must ratify in time."""
    return watchlists.approve(
        approver,
        watchlist,
        content_hash=content_hash,
        route=ApprovalRoute.URGENT,
        reason="Credible threat at the event tonight",
        now=now,
    )


@pytest.fixture
def draft(actors, gallery, now):
    """A draft list starting in 6 hours, with one adult on it."""
    subject, image = gallery.adult
    return compile_watchlist(actors.compiler, subject, image, now=now)


@pytest.fixture
def submitted(actors, draft, now):
    review = watchlists.submit(actors.compiler, draft, now=now)
    draft.refresh_from_db()
    return draft, review


@pytest.fixture
def approved_watchlist(request, actors, approvers, now):
    """Make a list with one person on it that the compiler compiled and submitted and an approver approved.

    `approved_watchlist()` is the draft's twin (the gallery's adult, from 6 to 12 hours ahead) approved by a
    superintendent; `approved_watchlist(subject, image, approver=..., start=..., end=..., purpose=...)` another. The
    gallery is made only for the default: a test with a list of someone else (the astronaut) gets no gallery too.
    """

    def make(subject=None, image=None, *, approver=None, **compiled):
        if subject is None:
            subject, image = request.getfixturevalue("gallery").adult
        watchlist = compile_watchlist(actors.compiler, subject, image, now=now, **compiled)
        return submit_and_approve(actors.compiler, approver or approvers.superintendent, watchlist, now=now)

    return make
