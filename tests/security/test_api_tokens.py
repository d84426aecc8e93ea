"""API tokens: only a hash is stored, each is shown once, belongs to one user, and is revocable at once."""

import hashlib

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from apps.accounts.models import ApiToken
from apps.accounts.services import accounts
from apps.audit.models import Event
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _issue(api, username, **extra):
    response = api().post("/api/accounts/token/", {"username": username, "password": PASSWORD, **extra}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _me(api, key):
    return api().get("/api/accounts/me/", HTTP_AUTHORIZATION=f"Token {key}")


def test_only_a_hash_of_the_token_is_stored(actors, api):
    issued = _issue(api, "officer", name="nightly export")
    key = issued["token"]
    stored = ApiToken.objects.get(pk=issued["id"])
    assert stored.digest == hashlib.sha256(key.encode()).hexdigest()
    assert (stored.prefix, stored.name, stored.user) == (key[:8], "nightly export", actors.officer)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        rows = cursor.fetchall()
    assert rows and not any(key in str(value) for row in rows for value in row)
    assert "authtoken_token" not in connection.introspection.table_names()
    issued_event = Event.objects.get(action="account.token_issued")
    assert key not in issued_event.canonical


def test_a_token_is_shown_once_and_never_listed(actors, api):
    key = _issue(api, "officer")["token"]
    assert _me(api, key).json()["username"] == "officer"
    listed = api(actors.officer).get("/api/accounts/tokens/").json()
    assert listed["count"] == 1
    assert key not in str(listed) and listed["results"][0]["prefix"] == key[:8]
    second = _issue(api, "officer")["token"]
    assert second != key  # a new token each time: the old one cannot be shown again
    assert _me(api, key).status_code == 200 and _me(api, second).status_code == 200


def test_a_token_acts_as_its_one_user_only(actors, api):
    key = _issue(api, "officer")["token"]
    me = _me(api, key).json()
    assert (me["username"], me["roles"]) == ("officer", ["officer"])
    assert api().get("/api/accounts/users/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 403
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from apps.accounts.services import two_factor

    device = TOTPDevice.objects.create(user=actors.admin, name="app", confirmed=True)
    admin_key = _issue(api, "admin", otp=two_factor.current_code(device))["token"]
    listed = api().get("/api/accounts/users/", {"reason": "accounts audit"}, HTTP_AUTHORIZATION=f"Token {admin_key}")
    assert listed.status_code == 200


def test_a_wrong_or_made_up_token_gets_401_with_the_challenge(actors, api):
    key = _issue(api, "officer")["token"]
    for wrong in (key[:-1] + ("A" if key[-1] != "A" else "B"), hashlib.sha256(key.encode()).hexdigest(), "x"):
        response = _me(api, wrong)
        assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


def test_the_holder_revokes_their_token_and_it_stops_at_once(actors, api):
    key = _issue(api, "officer")["token"]
    token = ApiToken.objects.get()
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.post(f"/api/accounts/tokens/{token.pk}/revoke/", {"reason": "laptop lost"}, format="json")
    assert response.status_code == 200 and response.json()["revoked_by"] == "officer"
    assert _me(api, key).status_code == 401
    revoked = Event.objects.get(action="account.token_revoked")
    assert (revoked.actor_username, revoked.target_id, revoked.reason) == (
        "officer", str(actors.officer.pk), "laptop lost",
    )  # fmt: skip
    again = api(actors.officer).post(f"/api/accounts/tokens/{token.pk}/revoke/", {}, format="json")
    assert again.status_code == 403 and "already revoked" in again.json()["detail"]


def test_an_administrator_revokes_anyones_token_and_others_may_not(actors, api):
    key = _issue(api, "officer")["token"]
    token = ApiToken.objects.get()
    assert api(actors.privacy).post(f"/api/accounts/tokens/{token.pk}/revoke/", {}, format="json").status_code == 404
    assert api(actors.privacy).get("/api/accounts/tokens/").json()["count"] == 0
    assert _me(api, key).status_code == 200
    assert api(actors.admin).get("/api/accounts/tokens/").json()["count"] == 1
    response = api(actors.admin).post(
        f"/api/accounts/tokens/{token.pk}/revoke/", {"reason": "leaver 2026/31"}, format="json"
    )
    assert response.status_code == 200
    assert _me(api, key).status_code == 401
    event = Event.objects.get(action="account.token_revoked")
    assert (event.actor_username, event.reason) == ("admin", "leaver 2026/31")


def test_the_admin_site_revokes_a_token(actors, api, client):
    key = _issue(api, "officer")["token"]
    token = ApiToken.objects.get()
    client.force_login(actors.admin)
    listing = client.get("/admin/accounts/apitoken/")
    assert listing.status_code == 200 and key not in listing.content.decode()
    response = client.post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert response.status_code == 200
    assert _me(api, key).status_code == 401
    assert Event.objects.get(action="account.token_revoked").actor_username == "admin"


def test_an_inactive_accounts_token_stops_working(actors, api):
    key = _issue(api, "officer")["token"]
    accounts.deactivate(actors.admin, actors.officer, reason="left the force")
    assert _me(api, key).status_code == 401


def test_revoking_needs_an_account_and_a_session_post_needs_csrf(actors, api):
    _issue(api, "officer")
    token = ApiToken.objects.get()
    assert api().post(f"/api/accounts/tokens/{token.pk}/revoke/", {}, format="json").status_code == 401
    assert api(actors.outsider).post(f"/api/accounts/tokens/{token.pk}/revoke/", {}, format="json").status_code == 403
    from rest_framework.test import APIClient

    session = APIClient(enforce_csrf_checks=True)
    session.force_login(actors.officer)
    assert session.post(f"/api/accounts/tokens/{token.pk}/revoke/", {}, format="json").status_code == 403
    assert ApiToken.objects.get().revoked_at is None


def test_a_token_request_reads_its_token_user_and_roles_in_one_query(
    actors, api, django_assert_num_queries, monkeypatch
):
    """Every API call by token authenticates: the token, its user and the user's roles come in one prepared statement
    (the load run's reads depend on it, docs/benchmarks.md), and the roles read are the user's current ones."""
    from govern import prepared

    key = _issue(api, "oversight")["token"]
    assert _me(api, key).status_code == 200  # the first use records last_used_at; the next ones within a minute don't
    sent, execute = [], prepared.execute
    monkeypatch.setattr(
        prepared, "execute", lambda cursor, sql, params: sent.append(sql) or execute(cursor, sql, params)
    )
    with django_assert_num_queries(0):  # nothing through Django's cursors: the one statement is prepared
        response = _me(api, key)
    assert len(sent) == 1 and "accounts_apitoken" in sent[0]
    assert response.status_code == 200
    assert set(response.json()["roles"]) == {role.value for role in actors.oversight.roles}
    response = api().get("/api/audit/checkpoints/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    actors.oversight.groups.clear()  # roles changed outside the services: the token no longer holds
    response = api().get("/api/audit/checkpoints/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401 and "roles, rank, password" in response.json()["detail"]


# --- A token carries the assurance it was issued with, and any change to the account revokes it (issue 20, 2) ------


def _promote(actors):
    from govern.roles import Rank, Role

    accounts.update_profile(actors.admin, actors.officer, rank=Rank.SUPERINTENDENT, reason="promoted")
    accounts.set_roles(actors.admin, actors.officer, [Role.OFFICER, Role.AUTHORISING_OFFICER], reason="promoted")


def _revocations(user) -> list[dict]:
    return [e.data for e in Event.objects.filter(action="account.token_revoked", target_id=str(user.pk))]


def test_a_token_issued_before_a_promotion_stops_and_the_revocation_is_logged(actors, api):
    key = _issue(api, "officer")["token"]
    assert ApiToken.objects.get().second_factor is False
    _promote(actors)
    response = _me(api, key)
    assert response.status_code == 401
    assert [data["cause"] for data in _revocations(actors.officer)] == ["rank changed"]
    assert ApiToken.objects.get().revoked_by == actors.admin


@pytest.mark.parametrize("change", ["roles", "rank", "password", "deactivate", "authenticator"])
def test_every_change_to_roles_rank_password_active_flag_or_authenticator_revokes(actors, api, change, make_user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from apps.accounts.services import two_factor
    from govern.roles import Rank, Role

    if change == "authenticator":
        TOTPDevice.objects.create(user=actors.officer, name="app", confirmed=True)
    key = _issue(api, "officer")["token"]
    if change == "roles":
        accounts.set_roles(actors.admin, actors.officer, [Role.OFFICER, Role.OVERSIGHT], reason="new duty")
    elif change == "rank":
        accounts.update_profile(actors.admin, actors.officer, rank=Rank.SERGEANT, reason="promoted")
    elif change == "password":
        accounts.set_password(actors.admin, actors.officer, "a-new-password-for-officer-1", reason="reset")
    elif change == "deactivate":
        accounts.deactivate(actors.admin, actors.officer, reason="left the force")
    else:
        removal = two_factor.reset(actors.admin, actors.officer, reason="phone lost")
        assert _me(api, key).status_code == 200  # asked for, not yet approved: nothing changed
        accounts.approve_change(make_user("admin2", Role.ADMINISTRATOR), removal)
    assert _me(api, key).status_code == 401
    assert len(_revocations(actors.officer)) == 1
    assert ApiToken.objects.get().revoked_at is not None


def test_a_change_of_unit_or_name_keeps_the_token(actors, api):
    key = _issue(api, "officer")["token"]
    accounts.update_profile(actors.admin, actors.officer, unit="Response team 2", reason="moved")
    assert _me(api, key).status_code == 200 and not _revocations(actors.officer)


def test_a_change_made_outside_the_services_revokes_at_the_tokens_next_use(actors, api):
    """A shell or a raw update bypasses the services: the token is bound to the account as it was, so it stops."""
    from django.contrib.auth.models import Group

    from apps.accounts.models import User
    from govern.roles import Role

    key = _issue(api, "officer")["token"]
    actors.officer.groups.add(Group.objects.get(name=Role.AUTHORISING_OFFICER))
    User.objects.filter(pk=actors.officer.pk).update(rank="superintendent")
    response = _me(api, key)
    assert response.status_code == 401 and "Ask for a new token" in response.json()["detail"]
    (data,) = _revocations(actors.officer)
    assert data["cause"] == "the account changed since the token was issued"


def test_a_token_without_a_second_factor_is_refused_for_an_account_that_needs_one(actors, api):
    from apps.accounts.models import account_stamp

    key = _issue(api, "officer")["token"]
    token = ApiToken.objects.get()
    # Made as if the account had needed no second factor when the token was issued under its present stamp.
    from django.contrib.auth.models import Group

    from govern.roles import Role

    actors.officer.groups.add(Group.objects.get(name=Role.PRIVACY_OFFICER))
    token.account_stamp = account_stamp(["officer", "privacy_officer"], actors.officer.rank, True,
                                        actors.officer.password, [])  # fmt: skip
    token.save(update_fields=["account_stamp"])
    assert actors.officer.security_stamp() == token.account_stamp
    response = _me(api, key)
    assert response.status_code == 401 and "without a second factor" in response.json()["detail"]
    with pytest.raises(PermissionDenied):
        accounts.issue_token(actors.officer, "no second factor")


def test_the_admin_site_revokes_tokens_when_it_changes_roles_rank_or_password(actors, api, client):
    from django.contrib.auth.models import Group

    from govern.roles import Role

    key = _issue(api, "officer")["token"]
    client.force_login(actors.admin)
    session = client.session
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=actors.admin, name="app", confirmed=True)
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    officer = actors.officer
    groups = [Group.objects.get(name=Role.OFFICER).pk, Group.objects.get(name=Role.OVERSIGHT).pk]
    response = client.post(f"/admin/accounts/user/{officer.pk}/change/", {
        "username": officer.username, "first_name": "", "last_name": "", "email": "", "rank": officer.rank,
        "warrant_number": "", "force": officer.force, "unit": "", "is_active": "on", "groups": groups,
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _me(api, key).status_code == 401
    assert [data["cause"] for data in _revocations(officer)] == ["roles changed"]


def test_an_authorization_header_in_another_scheme_is_refused_not_passed_over_for_the_session(actors, client):
    client.force_login(actors.officer)
    assert client.get("/api/accounts/me/").status_code == 200
    for header in ("Basic b2ZmaWNlcjpwYXNzd29yZA==", "Bearer abc", "Camera 1.2", "\u00a8uI"):
        response = client.get("/api/accounts/me/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert "Token <key>" in response.json()["detail"]
    assert client.get("/api/accounts/me/", HTTP_AUTHORIZATION="").status_code == 200  # an empty header says nothing
