"""Every role's demo account signs in and lands on its dashboard; sign-ins are in the audit log."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.accounts.management.commands.seed_demo import DEMO_ACCOUNTS
from apps.accounts.models import User
from apps.accounts.services import two_factor
from apps.audit.models import Event
from govern.roles import Role

pytestmark = pytest.mark.django_db
DEMO_PASSWORD = "demo-password-for-tests"


def _sign_in(client, username, password=DEMO_PASSWORD):
    """Password, then (for a role that needs it) the code of the authenticator seed_demo enrolled."""
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302 and response.url == reverse("home")
    user = User.objects.get(username=username)
    if user.needs_second_factor:
        refused = client.get(reverse("home"))
        assert refused.status_code == 302 and refused.url.startswith(reverse("two-factor-verify"))
        code = two_factor.current_code(two_factor.confirmed_device(user))
        verified = client.post(reverse("two-factor-verify"), {"otp_token": code, "next": reverse("home")})
        assert verified.status_code == 302 and verified.url == reverse("home")
    return response


@pytest.fixture
def demo(tmp_path):
    call_command("seed_demo", password=DEMO_PASSWORD, force=True, credentials_file=tmp_path / "creds.txt")
    return tmp_path / "creds.txt"


def test_seed_demo_creates_one_account_per_role_and_is_idempotent(demo, tmp_path):
    assert {User.objects.get(username=username).roles for username, *_ in DEMO_ACCOUNTS} == {
        frozenset({role}) for role in Role
    }
    events = Event.objects.count()
    call_command("seed_demo", password=DEMO_PASSWORD, force=True, credentials_file=demo)
    assert User.objects.count() == len(DEMO_ACCOUNTS)
    assert Event.objects.count() == events  # nothing changed, nothing logged
    assert User.objects.get(username="admin").is_staff
    assert not User.objects.get(username="officer").is_staff
    assert User.objects.get(username="commander").outranks_or_equals("superintendent")


def test_seed_demo_generates_and_keeps_passwords_when_none_is_given(tmp_path):
    credentials = tmp_path / "creds.txt"
    call_command("seed_demo", force=True, credentials_file=credentials)
    first = credentials.read_text()
    call_command("seed_demo", force=True, credentials_file=credentials)
    assert credentials.read_text() == first
    username, password, otpauth = first.splitlines()[0].split()  # the commander signs in with a second factor
    assert User.objects.get(username=username).check_password(password)
    assert otpauth.startswith(f"otpauth://totp/Govern%3A{username}?secret=")
    assert oct(credentials.stat().st_mode)[-3:] == "600"


def test_seed_demo_refuses_without_debug(settings, tmp_path):
    from django.core.management import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", credentials_file=tmp_path / "c.txt")
    assert not User.objects.exists()


@pytest.mark.parametrize(("username", "role"), [(account[0], account[-1]) for account in DEMO_ACCOUNTS])
def test_every_demo_account_signs_in_and_sees_its_dashboard(demo, client, username, role):
    _sign_in(client, username)
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert f'data-role="{role.value}"'.encode() in home.content
    assert Event.objects.filter(action="account.login", actor_username=username).exists()


def test_a_wrong_password_is_refused_and_logged(demo, client):
    response = client.post(reverse("login"), {"username": "commander", "password": "guess"})
    assert response.status_code == 200
    assert b"did not match" in response.content
    refused = Event.objects.filter(action="account.login_failed").last()
    assert refused.data == {"username": "commander"}
    assert client.get(reverse("home")).status_code == 302


def test_home_requires_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response.url


def test_sign_out_is_logged(demo, client):
    _sign_in(client, "officer")
    client.post(reverse("logout"))
    assert Event.objects.filter(action="account.logout", actor_username="officer").exists()


def test_admin_site_is_for_administrators_only(demo, client):
    _sign_in(client, "privacy")
    assert client.get("/admin/").status_code == 302
    client.post(reverse("logout"))
    _sign_in(client, "admin")
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200


def test_admin_role_change_is_logged_with_the_change(demo, client):
    _sign_in(client, "admin")
    officer = User.objects.get(username="officer")
    from django.contrib.auth.models import Group

    groups = [Group.objects.get(name=Role.OFFICER).pk, Group.objects.get(name=Role.WATCHLIST_COMPILER).pk]
    response = client.post(
        f"/admin/accounts/user/{officer.pk}/change/",
        {"username": "officer", "first_name": "Sam", "last_name": "Okafor", "email": "", "rank": "sergeant",
         "warrant_number": "", "force": officer.force, "unit": officer.unit, "is_active": "on", "groups": groups},
    )  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    changed = Event.objects.filter(action="account.roles_changed", target_id=str(officer.pk)).last()
    assert changed.data == {"before": ["officer"], "after": ["officer", "watchlist_compiler"]}
    updated = Event.objects.filter(action="account.update", target_id=str(officer.pk)).last()
    assert updated.data["changed"]["rank"] == ["constable", "sergeant"]


def test_a_password_typed_as_the_username_is_kept_only_as_a_commitment(demo, client):
    """Issue 20, item 10: what was typed for an unknown username may be a password; the log keeps it for ever."""
    from apps.audit import services as audit

    client.post(reverse("login"), {"username": "Tr0ub4dor&3-commander", "password": "commander"})
    refused = Event.objects.filter(action="account.login_failed").last()
    assert "Tr0ub4dor" not in refused.canonical
    assert refused.data == {"unknown_username_commitment": audit.commitment("tr0ub4dor&3-commander")}
