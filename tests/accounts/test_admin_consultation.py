"""The admin site's accounts list and account pages show staff's personal data: each asks for a reason and is logged
as one consultation, as the API's reads are (DPA 2018 s.62)."""

import pytest

from apps.audit.choices import CONSULTATION_ACTION
from apps.audit.models import Event

pytestmark = pytest.mark.django_db
LIST = "/admin/accounts/user/"


def _consultations():
    return list(Event.objects.filter(action=CONSULTATION_ACTION).order_by("seq"))


def test_the_accounts_list_asks_why_first_and_logs_the_accounts_shown(actors, client):
    client.force_login(actors.admin)
    asked = client.get(LIST)
    assert asked.status_code == 200 and "Why are you consulting" in asked.content.decode()
    assert "warrant" not in asked.content.decode().lower() and _consultations() == []
    kept = client.post("/audit/consult/", {"reason": "Quarterly review of accounts", "next": LIST})
    assert kept.status_code == 302
    shown = client.get(LIST)
    assert shown.status_code == 200 and "officer" in shown.content.decode()
    (consulted,) = _consultations()
    assert (consulted.target_type, consulted.target_id) == ("accounts.user", "list")
    assert consulted.reason == "Quarterly review of accounts" and consulted.data["surface"] == "admin"
    assert sorted(consulted.data["results"]) == sorted(u.pk for u in shown.context["cl"].result_list)
    assert len(consulted.data["results"]) == 8


def test_an_account_page_is_logged_with_the_reason(actors, client):
    client.force_login(actors.admin)
    page = f"/admin/accounts/user/{actors.officer.pk}/change/"
    assert "Why are you consulting" in client.get(page).content.decode() and _consultations() == []
    shown = client.get(page, HTTP_X_ACCESS_REASON="Vetting check 2026/7")
    assert shown.status_code == 200 and 'name="warrant_number"' in shown.content.decode()
    (consulted,) = _consultations()
    assert (consulted.target_type, consulted.target_id, consulted.reason) == (
        "accounts.user", str(actors.officer.pk), "Vetting check 2026/7"
    )  # fmt: skip


@pytest.mark.parametrize("page", ["history", "password"])
def test_an_accounts_history_and_password_form_are_logged_with_the_reason(actors, client, page):
    client.force_login(actors.admin)
    address = f"/admin/accounts/user/{actors.officer.pk}/{page}/"
    asked = client.get(address)
    assert "Why are you consulting" in asked.content.decode() and actors.officer.username not in asked.content.decode()
    assert _consultations() == []
    shown = client.get(address, HTTP_X_ACCESS_REASON="Vetting check 2026/8")
    assert shown.status_code == 200 and actors.officer.username in shown.content.decode()
    (consulted,) = _consultations()
    assert (consulted.target_type, consulted.target_id, consulted.reason, consulted.actor_id) == (
        "accounts.user", str(actors.officer.pk), "Vetting check 2026/8", actors.admin.pk
    )  # fmt: skip


def test_ones_own_password_form_is_refused_and_logs_nothing(actors, client):
    client.force_login(actors.admin)
    refused = client.get(f"/admin/accounts/user/{actors.admin.pk}/password/", HTTP_X_ACCESS_REASON="Checking my own")
    assert refused.status_code == 403 and _consultations() == []
