"""One administrator cannot mint an authorising officer or strip someone's second factor (issue 20, item 6).

Granting authorising officer, privacy officer or administrator, and removing an authenticator, take effect only when
a second administrator approves; both steps are logged; the admin site goes through the same service.
"""

import pytest
from django.core.exceptions import PermissionDenied
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.choices import AccountChangeState
from apps.accounts.models import AccountChange, User
from apps.accounts.services import accounts, two_factor
from apps.audit.models import Event
from govern.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin2(make_user):
    return make_user("admin2", Role.ADMINISTRATOR)


def _roles(user) -> set:
    return set(User.objects.get(pk=user.pk).roles)


def test_a_grant_of_authorising_officer_waits_for_a_second_administrator(actors, admin2):
    accounts.set_roles(actors.admin, actors.officer, [Role.OFFICER, Role.AUTHORISING_OFFICER], reason="promoted")
    assert _roles(actors.officer) == {Role.OFFICER}
    (change,) = AccountChange.objects.all()
    assert (change.state, change.roles, change.requested_by) == ("pending", ["authorising_officer"], actors.admin)
    with pytest.raises(PermissionDenied, match="another administrator decides"):
        accounts.approve_change(actors.admin, change)
    with pytest.raises(PermissionDenied):
        accounts.approve_change(actors.officer, change)
    accounts.approve_change(admin2, change, reason="checked the promotion order")
    assert _roles(actors.officer) == {Role.OFFICER, Role.AUTHORISING_OFFICER}
    actions = list(Event.objects.filter(target_id=str(actors.officer.pk)).values_list("action", "actor_username"))
    assert ("account.change_requested", "admin") in actions and ("account.change_approved", "admin2") in actions
    assert ("account.roles_changed", "admin2") in actions


def test_a_new_account_gets_the_sensitive_roles_only_after_approval(actors, admin2):
    user = accounts.create_user(
        actors.admin, "newsupt", "a-long-password-1234", roles=[Role.AUTHORISING_OFFICER], reason="new in post"
    )
    assert _roles(user) == set() and not user.is_staff
    assert not User.objects.get(pk=user.pk).needs_second_factor  # nothing to countersign with until approved
    accounts.approve_change(admin2, AccountChange.objects.get(user=user))
    assert _roles(user) == {Role.AUTHORISING_OFFICER}


def test_administrator_and_privacy_officer_grants_wait_too_and_removals_do_not(actors, admin2):
    accounts.set_roles(actors.admin, actors.outsider, [Role.ADMINISTRATOR], reason="new administrator")
    accounts.set_roles(actors.admin, actors.compiler, [Role.PRIVACY_OFFICER], reason="moved to privacy")
    assert not _roles(actors.outsider) and _roles(actors.compiler) == set()  # compiler role removed at once
    assert AccountChange.objects.filter(state="pending").count() == 2
    accounts.set_roles(actors.admin, actors.commander, [], reason="left the post")
    assert _roles(actors.commander) == set()


def test_a_refused_change_changes_nothing_and_is_logged(actors, admin2):
    accounts.set_roles(actors.admin, actors.officer, [Role.OFFICER, Role.AUTHORISING_OFFICER], reason="promoted")
    change = AccountChange.objects.get()
    accounts.refuse_change(admin2, change, reason="no promotion order on file")
    assert _roles(actors.officer) == {Role.OFFICER}
    assert AccountChange.objects.get().state == AccountChangeState.REFUSED
    assert Event.objects.get(action="account.change_refused").reason == "no promotion order on file"
    with pytest.raises(PermissionDenied, match="already decided"):
        accounts.approve_change(actors.admin, change)


def test_removing_an_authenticator_waits_for_a_second_administrator(actors, admin2):
    device = TOTPDevice.objects.create(user=actors.commander, name="app", confirmed=True)
    two_factor.reset(actors.admin, actors.commander, reason="phone lost")
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    change = AccountChange.objects.get(kind="remove_authenticator")
    accounts.approve_change(admin2, change)
    assert not TOTPDevice.objects.filter(user=actors.commander).exists()
    assert Event.objects.get(action="account.second_factor_reset").actor_username == "admin2"


def test_the_admin_site_goes_through_the_same_service(actors, admin2, client):
    from django.contrib.auth.models import Group

    client.force_login(actors.admin)
    officer = actors.officer
    groups = [Group.objects.get(name=Role.OFFICER).pk, Group.objects.get(name=Role.AUTHORISING_OFFICER).pk]
    response = client.post(f"/admin/accounts/user/{officer.pk}/change/", {
        "username": officer.username, "first_name": "", "last_name": "", "email": "", "rank": "superintendent",
        "warrant_number": "", "force": officer.force, "unit": "", "is_active": "on", "groups": groups,
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _roles(officer) == {Role.OFFICER}
    change = AccountChange.objects.get(user=officer)
    # The same administrator cannot approve it on the admin site either.
    client.post("/admin/accounts/accountchange/", {"action": "approve", "_selected_action": [change.pk]})
    assert _roles(officer) == {Role.OFFICER}
    second = client.__class__()
    second.force_login(admin2)
    second.post("/admin/accounts/accountchange/", {"action": "approve", "_selected_action": [change.pk]})
    assert _roles(officer) == {Role.OFFICER, Role.AUTHORISING_OFFICER}
