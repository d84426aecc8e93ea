"""The accounts API: me, the administrators' list with consultation logging, tokens; anonymous gets nothing."""

import pytest

from apps.accounts.models import ApiToken as Token
from apps.audit.models import Event
from tests.security.routes import concrete, routes

pytestmark = pytest.mark.django_db

# Endpoints that answer anonymous requests on purpose.
PUBLIC_API = {
    "api/schema/",
    "api/docs/",
    "api/audit/public-key/",
    "api/accounts/token/",
    "api/deployments/published/",
    "api/matching/capture/",  # cameras authenticate with their own credential (tested in tests/matching)
    "api/matching/capture/crops/",
    "api/matching/agent/session/",  # capture agents, with the camera credential (tests/matching/test_agent_api.py)
    "api/matching/agent/status/",
    "api/matching/agent/batches/",
}


def test_every_api_endpoint_refuses_anonymous_requests(actors, api):
    public = {f"/{path}" for path in PUBLIC_API}
    paths = [concrete(route) for route in routes() if route.startswith("api/") and "format" not in route]
    paths = [path for path in paths if path not in public]
    assert len(paths) >= 8
    for path in paths:
        response = api().get(path)
        assert response.status_code == 401, (path, response.status_code)
        assert response["WWW-Authenticate"] == "Token"


def test_me_returns_the_signed_in_account(actors, api):
    body = api(actors.commander).get("/api/accounts/me/").json()
    assert body["username"] == "commander"
    assert body["roles"] == ["authorising_officer"]
    assert body["rank"] == "superintendent"
    assert "password" not in body


def test_only_administrators_list_accounts(actors, api):
    assert api(actors.admin).get("/api/accounts/users/", {"reason": "accounts audit"}).json()["count"] == 8
    refused = api(actors.privacy).get("/api/accounts/users/")  # a role that sees no account: 403, not an empty list
    assert refused.status_code == 403 and "your role does not allow it" in refused.json()["detail"]


def test_reading_an_account_needs_a_reason_and_is_logged(actors, api):
    client = api(actors.admin)
    before = Event.objects.count()
    refused = client.get(f"/api/accounts/users/{actors.officer.pk}/")
    assert refused.status_code == 400 and "reason" in refused.json()
    assert Event.objects.count() == before
    response = client.get(f"/api/accounts/users/{actors.officer.pk}/", {"reason": "vetting review 2026/114"})
    assert response.status_code == 200
    consulted = Event.objects.get(action="record.consulted")
    assert (consulted.actor_username, consulted.target_id, consulted.reason) == (
        "admin", str(actors.officer.pk), "vetting review 2026/114",
    )  # fmt: skip
    header = client.get(f"/api/accounts/users/{actors.officer.pk}/", HTTP_X_ACCESS_REASON="audit of accounts")
    assert header.status_code == 200


def test_token_is_issued_for_good_credentials_and_works(actors, api):
    response = api().post(
        "/api/accounts/token/", {"username": "officer", "password": "correct-horse-battery-staple"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = api().get("/api/accounts/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.json()["username"] == "officer"
    assert Event.objects.filter(action="account.token_issued", actor_username="officer").exists()


def test_malformed_json_gets_400_and_changes_nothing(actors, api):
    before = (Event.objects.count(), Token.objects.count())
    response = api().post(
        "/api/accounts/token/", b'{"username": "officer", "password":', content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]
    assert (Event.objects.count(), Token.objects.count()) == before


def test_wrong_credentials_get_401_and_leave_only_the_refusal(actors, api):
    response = api().post("/api/accounts/token/", {"username": "officer", "password": "nope"}, format="json")
    assert response.status_code in (401, 403)
    assert not Token.objects.exists()
    assert Event.objects.filter(action="account.login_failed").count() == 1


def test_oversized_body_gets_413_before_any_view(actors, api, settings):
    settings.MAX_REQUEST_BODY_BYTES = 2048
    before = Event.objects.count()
    response = api().post("/api/accounts/token/", {"username": "x" * 5000, "password": "y"}, format="json")
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert Event.objects.count() == before


def test_every_response_carries_a_request_id(actors, api):
    response = api(actors.officer).get("/api/accounts/me/")
    import uuid

    uuid.UUID(response["X-Request-ID"])


def test_listing_accounts_needs_a_reason_and_logs_the_ids_shown(actors, api):
    client = api(actors.admin)
    before = Event.objects.count()
    refused = client.get("/api/accounts/users/")
    assert refused.status_code == 400 and "reason" in refused.json() and Event.objects.count() == before
    listed = client.get("/api/accounts/users/", {"reason": "vetting review 2026/114", "limit": 3})
    assert listed.status_code == 200 and listed.json()["count"] == 8
    consulted = Event.objects.get(action="record.consulted")
    shown = [account["id"] for account in listed.json()["results"]]
    assert (consulted.target_type, consulted.target_id, consulted.reason) == (
        "accounts.user",
        "list",
        "vetting review 2026/114",
    )
    assert consulted.data == {"results": shown, "surface": "api"}
