"""Repeated failed sign-ins pause signing in, for the account and for the address, without naming accounts."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import SignInFailure, SignInLockout
from apps.accounts.services import lockout
from apps.audit.models import Event
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in(client, username, password, address="192.0.2.10"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def _fail(client, username, times, address="192.0.2.10"):
    for _ in range(times):
        response = _sign_in(client, username, "wrong password", address)
        assert response.status_code == 200


def _refusal(response) -> str:
    return response.context["form"].non_field_errors()[0]


def test_five_failures_pause_the_account_even_for_the_right_password(actors, client, settings):
    assert settings.LOGIN_LOCKOUT_ATTEMPTS == 5 and settings.LOGIN_LOCKOUT_WINDOW_MINUTES == 15
    _fail(client, "commander", 4)
    assert lockout.locked_until("commander", "192.0.2.10") is None
    fifth = _sign_in(client, "commander", "wrong password")
    assert "paused until" in _refusal(fifth)
    refused = _sign_in(client, "commander", PASSWORD)
    assert refused.status_code == 200 and "paused until" in _refusal(refused)
    assert "_auth_user_id" not in client.session
    events = Event.objects.filter(action="account.locked_out")
    assert events.count() == 1
    event = events.get()
    assert (event.target_id, event.data["key"], event.data["value"], event.data["failures"]) == (
        str(actors.commander.pk), "username_at_address", "commander from 192.0.2.10", 5,
    )  # fmt: skip
    assert [e.data.get("paused") for e in Event.objects.filter(action="account.login_failed")].count(True) == 1
    assert SignInFailure.objects.filter(username="commander").count() == 5  # paused attempts are not counted


def test_an_unknown_username_gets_exactly_the_same_messages(actors, client):
    _fail(client, "commander", 5)
    _fail(client, "nobody-by-this-name", 5, address="192.0.2.11")
    known = _sign_in(client, "commander", "another guess")
    unknown = _sign_in(client, "nobody-by-this-name", "another guess", address="192.0.2.11")
    assert _refusal(known) == _refusal(unknown)
    assert Event.objects.filter(action="account.locked_out").count() == 2
    first_known = _sign_in(Client(), "officer", "wrong", address="192.0.2.12")
    first_unknown = _sign_in(Client(), "no-such-officer", "wrong", address="192.0.2.13")
    assert _refusal(first_known) == _refusal(first_unknown) == lockout.INVALID_LOGIN_TEXT


def test_the_username_is_counted_whatever_its_case(actors, client):
    _fail(client, "Commander", 3)
    _fail(client, "COMMANDER ", 2)
    assert "paused until" in _refusal(_sign_in(client, "commander", PASSWORD))


def test_a_successful_sign_in_resets_the_count(actors, client):
    _fail(client, "officer", 4)
    assert _sign_in(client, "officer", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    _fail(client, "officer", 4)
    assert _sign_in(client, "officer", PASSWORD).status_code == 302


def test_failures_older_than_the_window_do_not_count(actors, client, settings):
    _fail(client, "officer", 4)
    SignInFailure.objects.update(
        at=timezone.now() - datetime.timedelta(minutes=settings.LOGIN_LOCKOUT_WINDOW_MINUTES + 1)
    )
    _fail(client, "officer", 1)
    assert _sign_in(client, "officer", PASSWORD).status_code == 302


def test_the_pause_ends_after_the_cool_off(actors, client):
    _fail(client, "officer", 5)
    assert _sign_in(client, "officer", PASSWORD).status_code == 200
    pause = SignInLockout.objects.get(key="username_at_address")
    assert pause.locked_until - pause.locked_at == datetime.timedelta(minutes=15)
    SignInLockout.objects.update(locked_until=timezone.now() - datetime.timedelta(seconds=1))
    assert _sign_in(client, "officer", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    _fail(client, "officer", 1)  # the failures before the pause do not count again after it
    assert _sign_in(client, "officer", PASSWORD).status_code == 302


def test_one_address_guessing_many_accounts_is_paused(actors, client, settings):
    settings.LOGIN_LOCKOUT_ADDRESS_ATTEMPTS = 3
    for username in ("officer", "privacy", "nobody"):
        _fail(client, username, 1, address="198.51.100.7")
    refused = _sign_in(client, "compiler", PASSWORD, address="198.51.100.7")
    assert refused.status_code == 200 and "paused until" in _refusal(refused)
    pause = SignInLockout.objects.get()
    assert (pause.key, pause.value) == ("address", "198.51.100.7")
    assert Event.objects.get(action="account.locked_out").data["value"] == "198.51.100.7"
    assert _sign_in(Client(), "compiler", PASSWORD, address="198.51.100.8").status_code == 302


def test_a_successful_sign_in_does_not_reset_the_address(actors, client, settings):
    settings.LOGIN_LOCKOUT_ADDRESS_ATTEMPTS = 3
    _fail(client, "privacy", 2, address="198.51.100.7")
    assert _sign_in(client, "officer", PASSWORD, address="198.51.100.7").status_code == 302
    client.post(reverse("logout"))
    _fail(client, "compiler", 1, address="198.51.100.7")
    assert "paused until" in _refusal(_sign_in(client, "retail", PASSWORD, address="198.51.100.7"))


def test_the_api_token_endpoint_is_paused_too(actors, api):
    for _ in range(5):
        response = api().post("/api/accounts/token/", {"username": "officer", "password": "x"}, format="json",
                              REMOTE_ADDR="192.0.2.20")  # fmt: skip
        assert response.status_code in (401, 403)
    refused = api().post("/api/accounts/token/", {"username": "officer", "password": PASSWORD}, format="json",
                         REMOTE_ADDR="192.0.2.20")  # fmt: skip
    assert refused.status_code in (401, 403)
    assert "paused until" in refused.json()["detail"]
    assert "token" not in refused.json()
    assert Event.objects.filter(action="account.locked_out").count() == 1


def test_the_admin_site_sign_in_is_paused_too(actors, client):
    _fail(client, "admin", 5)
    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD}, REMOTE_ADDR="192.0.2.10")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_an_administrator_lifts_a_pause_with_a_reason(actors, client):
    _fail(client, "officer", 5)
    pause = SignInLockout.objects.get()
    with pytest.raises(Exception, match="role"):
        lockout.lift(actors.officer, pause, "let me in")
    lockout.lift(actors.admin, pause, "officer confirmed by phone, ticket 4411")
    assert _sign_in(client, "officer", PASSWORD).status_code == 302
    lifted = Event.objects.get(action="account.unlocked")
    assert lifted.actor_username == "admin" and lifted.reason == "officer confirmed by phone, ticket 4411"


def test_lockout_settings_are_strictly_parsed(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from govern import env

    monkeypatch.setenv("LOGIN_LOCKOUT_ATTEMPTS", "0")
    with pytest.raises(ImproperlyConfigured, match="LOGIN_LOCKOUT_ATTEMPTS"):
        env.integer("LOGIN_LOCKOUT_ATTEMPTS", 5, minimum=1, maximum=100)


def test_behind_a_proxy_the_address_it_forwarded_is_counted(actors, client, settings):
    settings.LOGIN_LOCKOUT_ADDRESS_ATTEMPTS = 2
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for username in ("officer", "privacy"):
        client.post(
            reverse("login"), {"username": username, "password": "x"}, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy
        )
    assert SignInLockout.objects.get().value == "10.0.0.1"  # without the setting, the header is not believed
    SignInLockout.objects.all().delete()
    SignInFailure.objects.all().delete()
    settings.PROXY_FORWARDED_FOR = True
    for username in ("officer", "privacy"):
        forged = "198.51.100.1, 203.0.113.9"  # a client's own entry comes first; the proxy's last one counts
        client.post(reverse("login"), {"username": username, "password": "x"}, HTTP_X_FORWARDED_FOR=forged, **proxy)
    assert SignInLockout.objects.get().value == "203.0.113.9"
    other = Client().post(
        reverse("login"), {"username": "compiler", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="203.0.113.10", **proxy
    )
    assert other.status_code == 302


def test_an_attacker_cannot_lock_a_commander_out(actors, client, settings):
    """Issue 20, item 10: five anonymous requests paused a named account everywhere, for ever if repeated. Now they
    pause that username from the attacker's address only; the commander signs in from their own."""
    _fail(client, "commander", 5, address="203.0.113.66")
    assert "paused until" in _refusal(_sign_in(client, "commander", PASSWORD, address="203.0.113.66"))
    assert _sign_in(Client(), "commander", PASSWORD, address="192.0.2.10").status_code == 302
    # A guess spread over many addresses still pauses the account everywhere, at a much higher bar.
    settings.LOGIN_LOCKOUT_ACCOUNT_ATTEMPTS = 12
    for n in range(12):
        _sign_in(Client(), "officer", "wrong password", address=f"198.51.100.{n + 1}")
    assert "paused until" in _refusal(_sign_in(Client(), "officer", PASSWORD, address="192.0.2.99"))
