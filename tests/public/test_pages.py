"""The public records (issue 22, item 4): the completed deployments' page and CSV, in the app of their own; every
figure from the records, none identifying a person."""

import csv
import io

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_completed_deployments_keep_their_page_and_csv(client, reported):
    assert reported.location_name in client.get(reverse("public-deployments")).content.decode()
    rows = list(
        csv.DictReader(io.StringIO(client.get(reverse("public-deployments"), {"format": "csv"}).content.decode()))
    )
    assert [row["reference"] for row in rows] == [reported.reference]
    assert rows[0]["faces_processed"] == "3" and rows[0]["watchlist_size"] == "1" and rows[0]["false_alerts"] == "1"


def test_a_format_the_page_does_not_offer_is_a_clear_400(client):
    for fmt in ("xml", "pdf", "", "CSV", "csv' OR 1=1"):
        answer = client.get(reverse("public-deployments"), {"format": fmt})
        assert answer.status_code == 400, fmt
        assert "Unknown format" in answer.content.decode()
    assert client.post(reverse("public-deployments")).status_code == 405
