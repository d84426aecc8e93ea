"""A subject's date of birth is checked for sense on every surface: born in 1850, in the future or too young to have
been arrested is refused by the API (400) and the page, and nothing is recorded (issue 23, item 4)."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from apps.watchlists.models import Subject
from tests.watchlist_fixtures import NEW_SUBJECT

pytestmark = pytest.mark.django_db


def _years_ago(years: int) -> str:
    today = timezone.localdate()
    return today.replace(year=today.year - years).isoformat()


IMPLAUSIBLE = ["1850-06-01", "2031-01-01", (datetime.date.today() + datetime.timedelta(days=2)).isoformat()]


@pytest.mark.parametrize("born", [*IMPLAUSIBLE, "young"])
def test_the_api_refuses_an_implausible_date_of_birth(actors, api, born):
    born = _years_ago(6) if born == "young" else born
    response = api(actors.compiler).post(
        "/api/watchlists/subjects/", {**NEW_SUBJECT, "date_of_birth": born}, format="json"
    )
    assert response.status_code == 400 and "date_of_birth" in response.json(), response.json()
    assert not Subject.objects.exists()


def test_the_api_accepts_a_ten_year_old(actors, api):
    body = {**NEW_SUBJECT, "date_of_birth": _years_ago(10)}
    assert api(actors.compiler).post("/api/watchlists/subjects/", body, format="json").status_code == 201


def test_the_page_refuses_it_beside_the_field_with_every_other_error(actors, client):
    client.force_login(actors.compiler)
    body = {**NEW_SUBJECT, "date_of_birth": "1850-06-01", "family_name": "", "sex": "not-a-sex"}
    page = client.post(reverse("watchlists:subject-create"), body).content.decode()
    summary = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    for field in ("id_date_of_birth", "id_family_name", "id_sex"):
        assert f'href="#{field}"' in summary, summary
    assert "not plausible" in summary and not Subject.objects.exists()
    young = client.post(reverse("watchlists:subject-create"), {**NEW_SUBJECT, "date_of_birth": _years_ago(7)})
    assert "nobody under 10" in young.content.decode() and not Subject.objects.exists()


def test_an_image_upload_shows_every_problem_at_once(actors, client, gallery):
    subject, _ = gallery.adult
    client.force_login(actors.compiler)
    body = {
        "image": SimpleUploadedFile("custody.jpg", b"not an image at all", "image/jpeg"),
        "captured_on": (timezone.localdate() + datetime.timedelta(days=3)).isoformat(),
        "source_system": "Custody suite A",
        "legal_basis": "other_lawful",
        "legal_basis_note": "",
    }
    page = client.post(reverse("watchlists:image-upload", args=[subject.pk]), body).content.decode()
    summary = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    for field in ("id_image", "id_captured_on", "id_legal_basis_note"):
        assert f'href="#{field}"' in summary, summary


def test_a_new_watchlist_shows_every_problem_at_once(actors, client):
    client.force_login(actors.compiler)
    start = timezone.localtime() + datetime.timedelta(hours=2)
    body = {
        "purpose": "   ",
        "intended_start": start.strftime("%Y-%m-%dT%H:%M"),
        "intended_end": (start - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    }
    page = client.post(reverse("watchlists:create"), body).content.decode()
    summary = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    assert 'href="#id_purpose"' in summary and 'href="#id_intended_end"' in summary, summary
