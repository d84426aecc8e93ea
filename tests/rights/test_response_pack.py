"""An access request's response pack: what is held about the person, where it came from, who consulted it and why,
with other people's names redacted; only for an access request granted; producing it is a logged disclosure."""

import csv
import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied

from apps.audit.models import Event
from apps.rights import selectors, services
from apps.rights.choices import Decision, RefusalGround, RequestKind
from apps.watchlists import selectors as watchlist_selectors
from tests.watchlist_fixtures import compile_watchlist

from .conftest import REASON, granted, logged, verified

pytestmark = pytest.mark.django_db


def _rows(archive, name):
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_the_pack_holds_the_record_its_sources_and_who_read_it_without_other_people(desk, actors, gallery, now):
    adult, image = gallery.adult
    compile_watchlist(actors.compiler, adult, image, now=now)
    watchlist_selectors.subject(actors.compiler, adult, "Operation Nightjar: checking Adam with Ben Sample")
    request = granted(desk.privacy, desk.privacy2, logged(desk.privacy), adult)
    pack = selectors.response_pack(desk.privacy, request, REASON)
    archive = zipfile.ZipFile(io.BytesIO(pack.content))
    names = set(archive.namelist())
    assert {"README.txt", "record.csv", "images.csv", "watchlists.csv", "alerts.csv", "access_log.csv"} <= names
    assert f"images/{image.pk}.jpg" in names and archive.read(f"images/{image.pk}.jpg")[:2] == b"\xff\xd8"
    assert _rows(archive, "record.csv")[0]["pnc_id"] == adult.pnc_id
    assert _rows(archive, "images.csv")[0]["source_system"] == "Custody suite A"
    assert len(_rows(archive, "watchlists.csv")) == 1
    reads = _rows(archive, "access_log.csv")
    nightjar = [row for row in reads if "Nightjar" in row["reason"]]
    assert nightjar and nightjar[0]["who"] == "compiler"
    assert "Sample" not in archive.read("access_log.csv").decode()
    assert "[another person]" in nightjar[0]["reason"] and pack.redactions >= 1
    event = Event.objects.get(action="rights_request.pack", target_id=str(request.pk))
    assert pack.sha256 in event.canonical and event.reason == REASON


def test_no_pack_for_a_request_not_granted_or_not_for_access(desk, gallery):
    adult, _ = gallery.adult
    undecided = verified(desk.privacy, logged(desk.privacy), adult)
    with pytest.raises(PermissionDenied):
        selectors.response_pack(desk.privacy, undecided, REASON)
    services.decide(
        desk.privacy2, undecided, decision=Decision.REFUSE, refusal_ground=RefusalGround.PREJUDICE_CRIME,
        note="A live investigation would be prejudiced",
    )  # fmt: skip
    undecided.refresh_from_db()
    with pytest.raises(PermissionDenied):
        selectors.response_pack(desk.privacy, undecided, REASON)
    erasure = logged(desk.privacy, kind=RequestKind.ERASURE, details="Erase my photograph, I was never charged")
    with pytest.raises(PermissionDenied):
        selectors.response_pack(desk.privacy, granted(desk.privacy, desk.privacy2, erasure, adult), REASON)
    assert not Event.objects.filter(action="rights_request.pack").exists()


def test_nothing_held_is_a_pack_that_says_so(desk):
    request = granted(desk.privacy, desk.privacy2, logged(desk.privacy, requester_name="Nobody Known"))
    archive = zipfile.ZipFile(io.BytesIO(selectors.response_pack(desk.privacy2, request, REASON).content))
    assert archive.namelist() == ["README.txt"]
    assert b"No record about you is held" in archive.read("README.txt")


def test_only_privacy_officers_produce_the_pack(desk, actors, gallery):
    request = granted(desk.privacy, desk.privacy2, logged(desk.privacy), gallery.adult[0])
    for someone in (actors.officer, actors.commander, actors.compiler, actors.oversight, actors.admin):
        with pytest.raises(PermissionDenied):
            selectors.response_pack(someone, request, REASON)
    assert not Event.objects.filter(action="rights_request.pack").exists()
