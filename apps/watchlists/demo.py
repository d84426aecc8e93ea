"""Synthetic demo data: invented subjects with public-domain photographs for faces, a draft and an approved watchlist.

Everything here is marked SYNTHETIC: the names, the PNC IDs (00/...), the images (a public-domain photograph with
the word under it) and the purposes. With an engine that recognises people (`real_faces()`: dlib's, or facenet's with
its weights) one more invented subject, the stand-in, has a photograph of a different person (Barack Obama's US
government portrait, apps/matching/demo_faces/SOURCES.md): the demo's deployments list only him, so the demo camera
can show him in another photograph (an alert) and others passing by (receipts). Idempotent: it tops up what is
missing and makes new lists when the old ones have ended.
"""

import datetime
import io
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from apps.accounts.models import User

from .choices import Category, LegalBasis, WatchlistState
from .models import Subject, Watchlist
from .services import custody, watchlists

MARK = "SYNTHETIC DEMO"
SOURCE = "Synthetic demo data (not a real custody record)"

# family name, given names, date of birth, sex, ethnicity, PNC ID, category, detail
SUBJECTS = [
    ("Ashdown", "Daniel", datetime.date(1988, 2, 14), "male", "W1", "00/000101D", Category.WANTED_BY_COURTS, ""),
    (
        "Okonkwo",
        "Grace",
        datetime.date(1995, 7, 3),
        "female",
        "B2",
        "00/000102E",
        Category.WANTED_FOR_OFFENCE,
        "Robbery (Theft Act 1968 s.8)",
    ),
    (
        "Marsh",
        "Leon",
        datetime.date(1979, 11, 30),
        "male",
        "M1",
        "00/000103F",
        Category.COURT_ORDER_OR_BAIL,
        "Bail condition: not to enter the West End",
    ),
    ("Hussain", "Amira", datetime.date(2001, 4, 22), "female", "A2", "00/000104G", Category.MISSING_AT_RISK, ""),
    ("Kowalski", "Piotr", datetime.date(1984, 9, 9), "male", "W9", "00/000105H", Category.RISK_OF_HARM, ""),
]
DETAIL_FIELD = {Category.WANTED_FOR_OFFENCE: "offence", Category.COURT_ORDER_OR_BAIL: "order_details"}


# The stand-in: an invented subject (name, PNC ID) whose custody image is a real person's public-domain portrait.
STAND_IN = ("Carver", "Marcus", datetime.date(1961, 8, 4), "male", "B9", "00/000106J", Category.WANTED_BY_COURTS, "")
STAND_IN_PNC = STAND_IN[5]

FACE_PHOTO = Path(__file__).resolve().parent / "demo_faces" / "astronaut.jpg"
# The vendored real photographs (kept beside the engine, whose tests use them too): obama.jpg is the stand-in's custody
# image, obama2.jpg what the demo camera shows of him, obama3.jpg the retrospective demo's still, biden.jpg a passer-by.
REAL_FACES = Path(__file__).resolve().parents[1] / "matching" / "demo_faces"


def real_faces() -> bool:
    """Whether the demo shows real people's photographs: the engine in use recognises people (not random weights)."""
    return not settings.FACE_UNCALIBRATED


def stand_in_portrait() -> bytes:
    """The stand-in's demo custody image: Barack Obama's public-domain portrait with SYNTHETIC DEMO written under it."""
    return _captioned(Image.open(REAL_FACES / "obama.jpg").convert("RGB"), "SYNTHETIC DEMO - stand-in photograph")


def _captioned(face: Image.Image, caption: str) -> bytes:
    image = Image.new("RGB", (face.width, face.height + 40), (164, 22, 26))
    image.paste(face, (0, 0))
    ImageDraw.Draw(image).text((12, face.height + 12), caption, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def synthetic_portrait(index: int) -> bytes:
    """A demo custody image: a public-domain test photo, varied per index, with SYNTHETIC DEMO written under it.

    The photo (NASA's portrait of astronaut Eileen Collins, as shipped in scikit-image's test data) stands in for
    a custody image because a drawn face is not detected by MTCNN and no synthetic face set can be downloaded here.
    It is the same face for every invented subject; nobody in the demo is a real person.
    """
    face = Image.open(FACE_PHOTO).convert("RGB")
    if index % 2:
        face = face.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    face = face.rotate((index % 5 - 2) * 4, fillcolor=(200, 200, 200))
    return _captioned(face, "SYNTHETIC DEMO - not a real subject")


def _subjects(compiler) -> list[tuple[Subject, tuple]]:
    """The invented subjects, the stand-in last when real_faces(), each with a custody image."""
    found = []
    for index, row in enumerate(SUBJECTS + ([STAND_IN] if real_faces() else [])):
        family, given, born, sex, ethnicity, pnc = row[:6]
        subject = Subject.objects.filter(pnc_id=pnc).first()
        if subject is None:
            subject = custody.create_subject(
                compiler,
                family_name=family,
                given_names=given,
                date_of_birth=born,
                pnc_id=pnc,
                sex=sex,
                ethnicity=ethnicity,
                registered_sex_offender=index == 1,  # one subject is on the register: Sarah's Law from an alert
                reason=MARK,
            )
        if not subject.images.exists():
            custody.upload_image(
                compiler,
                subject,
                stand_in_portrait() if row is STAND_IN else synthetic_portrait(index),
                captured_on=datetime.date(2026, 1, 10),
                source_system=SOURCE,
                legal_basis=LegalBasis.PACE_CUSTODY,
            )
        found.append((subject, row))
    return found


def _watchlist(compiler, people, purpose: str, start: datetime.datetime) -> Watchlist:
    watchlist = watchlists.create_watchlist(
        compiler, purpose=f"{MARK}: {purpose}", intended_start=start, intended_end=start + datetime.timedelta(hours=6)
    )
    for subject, row in people:
        category, detail = row[6], row[7]
        extra = {DETAIL_FIELD[category]: detail} if category in DETAIL_FIELD else {}
        watchlists.add_entry(
            compiler,
            watchlist,
            subject=subject,
            image=subject.images.first(),
            category=category,
            justification=f"{MARK}: invented justification for an invented person ({Category(category).label}).",
            **extra,
        )
    return watchlist


def seed(stdout) -> None:
    """Top up the synthetic gallery and make sure a current draft and a current approved list exist."""
    compiler = User.objects.get(username="compiler")
    commander = User.objects.get(username="commander")
    now = timezone.now()
    with transaction.atomic():
        people = _subjects(compiler)[: len(SUBJECTS)]  # the stand-in is on the deployments' lists only
        current = Watchlist.objects.filter(purpose__startswith=MARK, intended_end__gt=now + datetime.timedelta(hours=1))
        if not current.filter(state=WatchlistState.DRAFT).exists():
            _watchlist(
                compiler, people[3:], "LFR draft for a town-centre deployment", now + datetime.timedelta(hours=8)
            )
        if not current.filter(state=WatchlistState.APPROVED).exists():
            approved = _watchlist(
                compiler, people[:3], "LFR at a transport hub, evening peak", now + datetime.timedelta(hours=2)
            )
            review = watchlists.submit(compiler, approved)
            watchlists.approve(commander, approved, content_hash=review.content_hash, comment=MARK)
    drafts = Watchlist.objects.filter(purpose__startswith=MARK, state=WatchlistState.DRAFT).count()
    stdout.write(
        f"Synthetic demo watchlists: {drafts} draft, "
        f"{Watchlist.objects.filter(purpose__startswith=MARK, state=WatchlistState.APPROVED).count()} approved; "
        f"{len(people)} synthetic subjects."
    )
