"""Shared fixtures (a pytest plugin): approvers of each rank, a gallery, a draft and a submitted watchlist."""

import datetime
import io

import pytest
from django.utils import timezone
from PIL import Image, ImageDraw

from apps.accounts.choices import Rank, Role
from apps.watchlists import services
from apps.watchlists.choices import Category, LegalBasis


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
        person = services.create_subject(
            actors.compiler,
            family_name=family,
            given_names=given,
            date_of_birth=born,
            pnc_id=pnc,
            sex="male",
            ethnicity="W1",
        )
        image = services.upload_image(
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


JUSTIFICATION = "Wanted on a warrant issued by Westminster Magistrates for failing to appear, 12 Oct 2026."


@pytest.fixture
def draft(actors, gallery, now):
    """A draft list starting in 6 hours, with one adult on it."""
    watchlist = services.create_watchlist(
        actors.compiler,
        purpose="LFR at Oxford Circus: wanted offenders",
        intended_start=now + datetime.timedelta(hours=6),
        intended_end=now + datetime.timedelta(hours=12),
        now=now,
    )
    subject, image = gallery.adult
    services.add_entry(
        actors.compiler,
        watchlist,
        subject=subject,
        image=image,
        category=Category.WANTED_BY_COURTS,
        justification=JUSTIFICATION,
        now=now,
    )
    watchlist.refresh_from_db()
    return watchlist


@pytest.fixture
def submitted(actors, draft, now):
    review = services.submit(actors.compiler, draft, now=now)
    draft.refresh_from_db()
    return draft, review
