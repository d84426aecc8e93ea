"""Two-factor sign-in (TOTP, django-otp) for authorising officers, privacy officers and administrators."""

import io
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import EnrolmentCode, User
from apps.accounts.services import two_factor
from apps.audit.models import Event
from govern.roles import SECOND_FACTOR_ROLES, Role
from tests.conftest import PASSWORD, unverify
from tests.security.routes import page_routes

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent.parent
VERIFY, ENROL = "/accounts/login/two-factor/", "/accounts/login/two-factor/enrol/"


def _password_only(username, address="192.0.2.50"):
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD}, REMOTE_ADDR=address)
    assert response.status_code == 302
    return client


def _device(user):
    return TOTPDevice.objects.create(user=user, name=two_factor.DEVICE_NAME, confirmed=True)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_the_roles_that_need_a_second_factor():
    assert {Role.AUTHORISING_OFFICER, Role.PRIVACY_OFFICER, Role.ADMINISTRATOR} == SECOND_FACTOR_ROLES


@pytest.mark.parametrize("role", ["commander", "privacy", "admin"])
def test_after_the_password_alone_every_page_leads_to_the_code(actors, role):
    _device(getattr(actors, role))
    client = _password_only(role)
    for path in page_routes():
        if path in ("/healthz", "/accounts/login/", "/accounts/logout/", VERIFY, ENROL) or path.startswith("/public/"):
            continue
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith(VERIFY + "?next="), (path, response)
    assert client.get("/admin/").url.startswith(VERIFY)
    api = client.get("/api/accounts/me/")
    assert api.status_code == 403 and "two-factor" in api.json()["detail"]
    assert client.get("/api/accounts/me/", HTTP_AUTHORIZATION="Bearer made-up").status_code == 403
    assert client.get("/api/accounts/me/", HTTP_AUTHORIZATION="Token made-up").status_code == 401


@pytest.mark.parametrize("role", ["officer", "compiler", "oversight", "retail"])
def test_other_roles_sign_in_with_the_password(actors, role):
    client = _password_only(role)
    assert client.get(reverse("home")).status_code == 200
    assert not TOTPDevice.objects.exists()


def test_a_right_code_opens_the_next_page_and_is_logged(actors):
    device = _device(actors.privacy)
    client = _password_only("privacy")
    page = client.get("/oversight/")
    assert page.url == VERIFY + "?next=%2Foversight%2F"
    form = client.get(page.url)
    assert b'name="otp_token"' in form.content and b"csrfmiddlewaretoken" in form.content
    wrong = client.post(VERIFY, {"otp_token": _wrong(two_factor.current_code(device)), "next": "/oversight/"})
    assert wrong.status_code == 200 and b"not right" in wrong.content
    assert client.get("/oversight/").status_code == 302
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)  # django-otp's back-off after a miss
    right = client.post(VERIFY, {"otp_token": two_factor.current_code(device), "next": "/oversight/"})
    assert right.status_code == 302 and right.url == "/oversight/"
    assert client.get("/oversight/").status_code == 200
    assert Event.objects.filter(action="account.second_factor_failed", actor_username="privacy").count() == 1
    assert Event.objects.filter(action="account.second_factor_verified", actor_username="privacy").count() == 1


def test_a_code_is_accepted_once(actors):
    device = _device(actors.commander)
    code = two_factor.current_code(device)
    first = _password_only("commander")
    assert first.post(VERIFY, {"otp_token": code}).status_code == 302
    second = _password_only("commander")
    assert second.post(VERIFY, {"otp_token": code}).status_code == 200
    assert second.get(reverse("home")).status_code == 302


def test_repeated_wrong_codes_are_slowed_down(actors):
    device = _device(actors.commander)
    client = _password_only("commander")
    for _ in range(3):
        client.post(VERIFY, {"otp_token": _wrong(two_factor.current_code(device))})
    refused = client.post(VERIFY, {"otp_token": two_factor.current_code(device)})
    assert refused.status_code == 200  # django-otp throttles: even the right code waits out the back-off
    assert client.get(reverse("home")).status_code == 302


def test_next_never_leaves_the_site(actors):
    device = _device(actors.admin)
    client = _password_only("admin")
    response = client.post(VERIFY, {"otp_token": two_factor.current_code(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == reverse("home")


def test_first_sign_in_enrols_an_authenticator_then_verifies(actors):
    code = two_factor.issue_enrolment_code(actors.admin, actors.commander, reason="new commander, ticket 12")
    client = _password_only("commander")
    assert client.get(reverse("home")).url.startswith(ENROL)
    assert client.get(VERIFY).url.startswith(ENROL)
    asked = client.get(ENROL)
    assert 'name="enrolment_code"' in asked.content.decode() and "otpauth" not in asked.content.decode()
    opened = client.post(ENROL, {"enrolment_code": code.lower().replace("-", " "), "next": "/oversight/"})
    assert opened.status_code == 302 and opened.url == f"{ENROL}?next=%2Foversight%2F"
    page = client.get(ENROL)
    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'<img class="qr-code" src="data:image/png;base64,[A-Za-z0-9+/=]{200,}"', html)
    uri = re.search(r'id="otpauth-uri"[^>]*>([^<]+)<', html).group(1).replace("&amp;", "&")
    assert uri.startswith("otpauth://totp/Govern%3Acommander?")
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    assert f'id="totp-secret">{secret}<' in html
    device = TOTPDevice.objects.get(user=actors.commander)
    assert not device.confirmed and two_factor.secret(device) == secret
    assert client.get(ENROL).content.decode().count(secret) >= 1  # the same secret until confirmed
    assert TOTPDevice.objects.count() == 1
    wrong = client.post(ENROL, {"otp_token": _wrong(two_factor.current_code(device))})
    assert wrong.status_code == 200 and not TOTPDevice.objects.get().confirmed
    TOTPDevice.objects.update(throttling_failure_count=0)
    right = client.post(ENROL, {"otp_token": two_factor.current_code(device)})
    assert right.status_code == 302 and right.url == reverse("home")
    assert TOTPDevice.objects.get().confirmed
    assert EnrolmentCode.objects.get().used_at is not None
    assert client.get(reverse("home")).status_code == 200
    assert Event.objects.filter(action="account.second_factor_enrolled", target_id=str(actors.commander.pk)).exists()
    assert client.get(ENROL).status_code == 302  # nothing more to enrol, and the secret is not shown again


def test_a_new_role_needing_it_sends_the_person_to_enrol(actors, deputy):
    from apps.accounts.models import AccountChange
    from apps.accounts.services import accounts

    client = _password_only("officer")
    assert client.get(reverse("home")).status_code == 200
    accounts.set_roles(actors.admin, actors.officer, [Role.AUTHORISING_OFFICER], reason="promoted")
    accounts.approve_change(deputy, AccountChange.objects.get(user=actors.officer))  # four eyes (item 6)
    assert client.get(reverse("home")).url.startswith(ENROL)


def test_an_administrator_removes_a_lost_authenticator(actors, deputy):
    from apps.accounts.services import accounts

    _device(actors.privacy)
    with pytest.raises(Exception, match="role"):
        two_factor.reset(actors.officer, actors.privacy, reason="phone lost")
    with pytest.raises(Exception, match="own"):
        two_factor.reset(actors.admin, actors.admin, reason="mine")
    change = two_factor.reset(actors.admin, actors.privacy, reason="phone lost, ticket 77")
    assert TOTPDevice.objects.filter(user=actors.privacy).exists()  # asked for: a second administrator approves
    asked = Event.objects.get(action="account.change_requested")
    assert (asked.actor_username, asked.target_id, asked.reason) == ("admin", str(actors.privacy.pk),
                                                                     "phone lost, ticket 77")  # fmt: skip
    accounts.approve_change(deputy, change)
    event = Event.objects.get(action="account.second_factor_reset")
    assert (event.actor_username, event.target_id) == ("admin-deputy", str(actors.privacy.pk))
    assert "phone lost, ticket 77" in event.reason
    assert _password_only("privacy").get(reverse("home")).url.startswith(ENROL)


def test_the_admin_site_action_removes_an_authenticator(actors, client, deputy):
    from apps.accounts.models import AccountChange

    _device(actors.privacy)
    client.force_login(actors.admin)
    response = client.post(
        "/admin/accounts/user/", {"action": "reset_second_factor", "_selected_action": [actors.privacy.pk]}
    )
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=actors.privacy).exists()  # one administrator alone removes nothing
    second = client.__class__()
    second.force_login(deputy)
    change = AccountChange.objects.get(user=actors.privacy)
    second.post("/admin/accounts/accountchange/", {"action": "approve", "_selected_action": [change.pk]})
    assert not TOTPDevice.objects.filter(user=actors.privacy).exists()
    assert "otp_totp" not in client.get("/admin/").content.decode()  # no page shows authenticator secrets


def test_an_api_token_for_these_roles_needs_the_code_and_then_works_alone(actors, api):
    device = _device(actors.privacy)
    url = "/api/accounts/token/"
    missing = api().post(url, {"username": "privacy", "password": PASSWORD}, format="json")
    assert missing.status_code in (401, 403) and "otp" in missing.json()["detail"]
    wrong_code = _wrong(two_factor.current_code(device))
    wrong = api().post(url, {"username": "privacy", "password": PASSWORD, "otp": wrong_code}, format="json")
    assert wrong.status_code in (401, 403) and "token" not in wrong.json()
    TOTPDevice.objects.update(throttling_failure_count=0)
    code = two_factor.current_code(device)
    issued = api().post(url, {"username": "privacy", "password": PASSWORD, "otp": code}, format="json")
    assert issued.status_code == 200
    me = api().get("/api/accounts/me/", HTTP_AUTHORIZATION=f"Token {issued.json()['token']}")
    assert me.status_code == 200 and me.json()["username"] == "privacy"
    officer = api().post(url, {"username": "officer", "password": PASSWORD}, format="json")
    assert officer.status_code == 200


def test_test_logins_are_verified_and_unverify_undoes_it(actors, client):
    client.force_login(actors.privacy)
    assert client.get(reverse("home")).status_code == 200
    unverify(client)
    assert client.get(reverse("home")).url.startswith(VERIFY)


def test_seed_demo_enrols_the_demo_accounts_that_need_it_and_writes_their_secrets(tmp_path, client):
    credentials = tmp_path / "creds.txt"
    call_command("seed_demo", password="demo-password-for-2fa", force=True, credentials_file=credentials)
    lines = {line.split()[0]: line.split()[1:] for line in credentials.read_text().splitlines()}
    needing = {"commander", "privacy", "admin"}
    assert {name for name, rest in lines.items() if len(rest) == 2} == needing
    for username in needing:
        _password, uri = lines[username]
        device = TOTPDevice.objects.get(user__username=username, confirmed=True)
        assert uri == device.config_url
    assert not TOTPDevice.objects.exclude(user__username__in=needing).exists()
    # The README's one-liner computes the code from the secret in the file; it signs the commander in.
    secret = parse_qs(urlsplit(lines["commander"][1]).query)["secret"][0]
    command = re.search(r"python3 -c '([^']+)' SECRET", (ROOT / "README.md").read_text()).group(1)
    code = subprocess.run([sys.executable, "-c", command, secret], capture_output=True, text=True, check=True)
    assert (
        code.stdout.strip()
        == f"{totp(two_factor.confirmed_device(User.objects.get(username='commander')).bin_key):06d}"
    )
    client.post(reverse("login"), {"username": "commander", "password": "demo-password-for-2fa"})
    assert client.post(VERIFY, {"otp_token": code.stdout.strip()}).status_code == 302
    assert client.get(reverse("home")).status_code == 200
    before = Event.objects.count()
    call_command("seed_demo", password="demo-password-for-2fa", force=True, credentials_file=credentials)
    assert Event.objects.count() == before and TOTPDevice.objects.count() == 3
    assert credentials.read_text().count("otpauth://") == 3


# --- Enrolment codes: a password alone never enrols a phone -----------------------------------------------------


@pytest.fixture
def deputy(make_user):
    return make_user("admin-deputy", Role.ADMINISTRATOR)


def _open_enrolment(client, code):
    response = client.post(ENROL, {"enrolment_code": code})
    assert response.status_code == 302, response.content.decode()[:500]


def test_without_an_enrolment_code_no_secret_is_shown_or_made(actors):
    client = _password_only("privacy")
    page = client.get(ENROL).content.decode()
    assert 'name="enrolment_code"' in page and "totp-secret" not in page and "qr-code" not in page
    refused = client.post(ENROL, {"enrolment_code": "ABCD-EFGH-JKLM"})
    assert refused.status_code == 200 and "No enrolment code is open" in refused.content.decode()
    forced = client.post(ENROL, {"otp_token": "123456"})  # the code step cannot be skipped
    assert forced.status_code == 200 and "totp-secret" not in forced.content.decode()
    assert not TOTPDevice.objects.filter(user=actors.privacy).exists()
    assert Event.objects.filter(action="account.enrolment_code_refused", target_id=str(actors.privacy.pk)).exists()


def test_wrong_enrolment_codes_void_it_after_five_tries(actors):
    code = two_factor.issue_enrolment_code(actors.admin, actors.privacy, reason="new starter")
    client = _password_only("privacy")
    for _ in range(two_factor.ENROLMENT_CODE_ATTEMPTS):
        response = client.post(ENROL, {"enrolment_code": "WRNG-WRNG-WRNG"})
        assert response.status_code == 200
    assert "it is void" in response.content.decode()
    assert EnrolmentCode.objects.get().voided_at is not None
    response = client.post(ENROL, {"enrolment_code": code})  # even the right code now: it is void
    assert response.status_code == 200 and "No enrolment code is open" in response.content.decode()
    assert (
        Event.objects.filter(action="account.enrolment_code_refused").count() == two_factor.ENROLMENT_CODE_ATTEMPTS + 1
    )


def test_an_enrolment_code_opens_one_session_once_and_expires(actors, deputy, make_user):
    from apps.accounts.services import accounts

    code = two_factor.issue_enrolment_code(actors.admin, deputy, reason="second administrator")
    owner, thief = _password_only("admin-deputy"), _password_only("admin-deputy", address="192.0.2.99")
    _open_enrolment(owner, code)
    assert "totp-secret" in owner.get(ENROL).content.decode()
    assert "totp-secret" not in thief.get(ENROL).content.decode()  # the same password, another session: no secret
    device = TOTPDevice.objects.get(user=deputy)
    assert owner.post(ENROL, {"otp_token": two_factor.current_code(device)}).status_code == 302
    # Used: the code opens nothing again, even after the phone is lost and removed.
    removal = two_factor.reset(actors.admin, deputy, reason="phone lost")
    accounts.approve_change(make_user("admin-third", Role.ADMINISTRATOR), removal)
    again = _password_only("admin-deputy")
    assert again.post(ENROL, {"enrolment_code": code}).status_code == 200
    late = two_factor.issue_enrolment_code(actors.admin, deputy, reason="phone lost, new code")
    EnrolmentCode.objects.filter(used_at__isnull=True).update(expires_at=timezone.now())
    assert "No enrolment code is open" in again.post(ENROL, {"enrolment_code": late}).content.decode()


def test_a_secret_made_before_the_code_is_dropped_when_the_code_is_accepted(actors):
    stale = TOTPDevice.objects.create(user=actors.commander, name=two_factor.DEVICE_NAME, confirmed=False)
    code = two_factor.issue_enrolment_code(actors.admin, actors.commander, reason="new commander")
    client = _password_only("commander")
    _open_enrolment(client, code)
    client.get(ENROL)
    (fresh,) = TOTPDevice.objects.filter(user=actors.commander)
    assert fresh.pk != stale.pk and fresh.key != stale.key


def test_who_issues_enrolment_codes(actors):
    with pytest.raises(Exception, match="role"):
        two_factor.issue_enrolment_code(actors.officer, actors.privacy, reason="asked nicely")
    with pytest.raises(Exception, match="own"):
        two_factor.issue_enrolment_code(actors.admin, actors.admin, reason="mine")
    with pytest.raises(Exception, match="why"):
        two_factor.issue_enrolment_code(actors.admin, actors.privacy, reason=" ")
    first = two_factor.issue_enrolment_code(actors.admin, actors.privacy, reason="new starter")
    second = two_factor.issue_enrolment_code(actors.admin, actors.privacy, reason="lost the first")
    assert first != second and EnrolmentCode.objects.filter(voided_at__isnull=False).count() == 1
    event = Event.objects.filter(action="account.enrolment_code_issued").latest("seq")
    assert (event.actor_username, event.reason) == ("admin", "lost the first")
    assert first not in str(event.data) and second not in str(event.data)


def test_the_admin_site_and_the_command_issue_codes(actors, deputy, client):
    client.force_login(actors.admin)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "issue_enrolment_code", "_selected_action": [actors.privacy.pk, actors.officer.pk]},
        follow=True,
    )
    shown = re.search(r"Enrolment code for privacy: ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", response.content.decode())
    assert shown and "officer signs in without a second factor" in response.content.decode().lower()
    assert EnrolmentCode.objects.filter(user=actors.privacy, issued_by=actors.admin).count() == 1
    out = io.StringIO()
    call_command("enrolment_code", "admin-deputy", "--reason", "bootstrap", stdout=out)
    code = re.search(r"([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", out.getvalue()).group(1)
    _open_enrolment(_password_only("admin-deputy"), code)
    event = Event.objects.filter(action="account.enrolment_code_issued").latest("seq")
    assert event.actor_username == "(system)" and event.reason == "bootstrap"
