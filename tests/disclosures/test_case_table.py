"""The cases list on the shared table (issue 23, point 3): the next deadline first, then the completed; filtered by
the API's FilterSet; exported as CSV without a name; a bad filter is a 400."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from .conftest import LONDON, right_to_ask

pytestmark = pytest.mark.django_db


def _rows(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_cases_filter_sort_and_export_without_a_name(client, unit):
    old = right_to_ask(unit.pc, contact_at=datetime.datetime(2026, 3, 20, 10, 0, tzinfo=LONDON))
    fresh = right_to_ask(unit.pc)
    client.force_login(unit.pc)
    url = reverse("disclosures:cases")
    rows = _rows(client.get(url, {"export": "csv"}))
    assert [row["Reference"] for row in rows] == [old.reference, fresh.reference]  # the next deadline first
    assert rows[0]["Next due"].endswith("OVERDUE") and "<" not in rows[0]["Next due"]
    assert "Jane Applicant" not in str(rows) and "John Subject" not in str(rows)
    overdue = _rows(client.get(url, {"export": "csv", "overdue": "true"}))
    assert [row["Reference"] for row in overdue] == [old.reference]
    by_reference = _rows(client.get(url, {"export": "csv", "sort": "-reference"}))
    assert [row["Reference"] for row in by_reference] == sorted([old.reference, fresh.reference], reverse=True)
    assert client.get(url, {"overdue": "ture"}).status_code == 400
