"""Shared fixtures (a pytest plugin): a real photo, and a live deployment whose list was enrolled from it."""

import datetime
import io

import pytest
from PIL import Image

from apps.matching.services import enrolment
from apps.watchlists.choices import LegalBasis
from apps.watchlists.services import custody
from tests.deployment_fixtures import EARLIER, go_live, plan_deployment


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> bytes:
    from skimage import data

    return _jpeg(Image.fromarray(data.astronaut()))


@pytest.fixture
def blank() -> bytes:
    return _jpeg(Image.new("RGB", (640, 480), (120, 130, 140)))


def astronaut_subject(compiler, photo: bytes, pnc_id="56/000001C"):
    """The person in the astronaut photo (NASA's public-domain portrait of Eileen Collins), with that photo as their
    image, as a compiler records them."""
    subject = custody.create_subject(
        compiler,
        family_name="Collins",
        given_names="Eileen",
        date_of_birth=datetime.date(1956, 11, 19),
        pnc_id=pnc_id,
    )
    image = custody.upload_image(
        compiler,
        subject,
        photo,
        captured_on=datetime.date(2026, 1, 5),
        source_system="Public-domain test photo",
        legal_basis=LegalBasis.OTHER_LAWFUL,
        legal_basis_note="Test fixture: public-domain NASA portrait",
    )
    return subject, image


def officers_so_far():
    """Every officer the test has made before the deployment: they all work at it and see its alerts.

    Tests of who sees which alerts (tests/security/test_object_scope.py) set the team themselves.
    """
    from apps.accounts.models import User
    from govern.roles import Role

    return list(User.objects.filter(groups__name=Role.OFFICER))


@pytest.fixture
def live(actors, approvers, approved_watchlist, documents, vans, engine_approved, astronaut, now):
    """A live deployment whose approved list holds one person, enrolled from the astronaut photo; every officer made
    so far is on its team."""
    watchlist = approved_watchlist(
        *astronaut_subject(actors.compiler, astronaut),
        purpose="Pipeline test",
        start=now - datetime.timedelta(minutes=30),
        end=now + datetime.timedelta(hours=4),
    )
    result = enrolment.enrol_watchlist(watchlist.pk, watchlist.approved_hash)
    assert result.enrolled == 1, result.problems
    deployment = plan_deployment(
        actors.officer, watchlist, assets=[vans[0]], documents=documents, team=officers_so_far(), now=now - EARLIER
    )
    return go_live(deployment, approvers.superintendent, actors.officer, now)
