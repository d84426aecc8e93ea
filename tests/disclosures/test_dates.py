"""Dates are checked for sense on every surface: a child born in 2031, or one who is an adult, is refused by the API
(400) and the page (an error beside the field, with the others), and nothing is recorded (issue 23, item 4)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.disclosures.models import Child, DisclosureCase

pytestmark = pytest.mark.django_db


def _body(**child):
    return {
        "route": "right_to_ask",
        "contact_method": "telephone",
        "contact_at": "2026-03-20T10:00:00Z",
        "applicant_name": "Jane Applicant",
        "applicant_safe_contact": "Mobile, evenings only",
        "subject_name": "John Subject",
        "subject_relationship": "Mother's partner",
        "children": [{"name": "A.", "carer_knows": "yes", **child}],
    }


@pytest.mark.parametrize(
    ("born", "says"),
    [("2031-01-01", "date of birth"), ("1990-05-01", "under 18"), ("2026-12-31", "after 20 March 2026")],
)
def test_the_api_refuses_a_child_not_born_or_no_longer_a_child(api, unit, born, says):
    response = api(unit.pc).post("/api/disclosures/cases/", _body(date_of_birth=born), format="json")
    assert response.status_code == 400 and says in str(response.json()), response.json()
    assert not DisclosureCase.objects.exists() and not Child.objects.exists()


def test_the_api_refuses_a_subject_too_young_to_have_a_record(api, unit):
    body = {**_body(date_of_birth="2018-04-01"), "subject_date_of_birth": "2020-01-01"}
    response = api(unit.pc).post("/api/disclosures/cases/", body, format="json")
    assert response.status_code == 400 and "subject_date_of_birth" in response.json()
    assert not DisclosureCase.objects.exists()


def test_the_page_shows_every_error_of_a_first_contact_at_once(client, unit):
    client.force_login(unit.pc)
    contact = timezone.localtime().replace(second=0, microsecond=0)
    body = {
        "route": "right_to_ask",
        "contact_method": "telephone",
        "contact_at": contact.strftime("%Y-%m-%dT%H:%M"),
        "officer_in_charge": unit.pc.pk,
        "subject_name": "John Subject",
        "subject_date_of_birth": "1850-01-01",
        "child_name": "A.",
        "child_date_of_birth": (contact.date() + datetime.timedelta(days=365 * 5)).isoformat(),
        "child_carer_knows": "yes",
    }
    page = client.post(reverse("disclosures:open"), body)
    assert page.status_code == 200
    summary = page.content.decode().split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    for field in ("id_subject_date_of_birth", "id_child_date_of_birth", "id_applicant_name"):
        assert f'href="#{field}"' in summary, summary
    assert "Name the applicant." in summary and "Record a safe way to reach the applicant." in summary
    assert not DisclosureCase.objects.exists()
