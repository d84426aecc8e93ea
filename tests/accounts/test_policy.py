"""The permission policy: data, applied to every query; unknown actions are errors, not a quiet yes."""

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied

from apps.accounts import policy
from apps.accounts.choices import Rank
from apps.accounts.models import RestrictedQuerySet, User
from apps.audit.models import Event

pytestmark = pytest.mark.django_db


def test_every_restricted_model_has_a_view_rule():
    """Meta-test: a model whose manager can restrict() must say who may view it."""
    missing = []
    for model in apps.get_models():
        if not model.__module__.startswith("apps."):
            continue
        if isinstance(model._default_manager.all(), RestrictedQuerySet):
            action = f"{model._meta.app_label}.view_{model._meta.model_name}"
            if action not in policy.rules():
                missing.append(action)
    assert not missing, f"models without a view rule: {missing}"


def test_unknown_action_is_an_error():
    with pytest.raises(policy.UnknownAction):
        policy.may(None, "accounts.teleport_user")


def test_restrict_gives_nothing_without_the_role(actors):
    assert User.objects.restrict(actors.officer, "view").count() == 0
    assert User.objects.restrict(actors.admin, "view").count() == 8
    assert Event.objects.restrict(actors.outsider, "view").count() == 0


def test_inactive_and_anonymous_users_may_do_nothing(actors):
    from django.contrib.auth.models import AnonymousUser

    actors.admin.is_active = False
    assert not policy.may(actors.admin, "accounts.view_user")
    assert not policy.may(AnonymousUser(), "accounts.view_user")
    assert User.objects.restrict(AnonymousUser(), "view").count() == 0


def test_require_raises_with_a_readable_message(actors):
    with pytest.raises(PermissionDenied, match="view accounts"):
        policy.require(actors.officer, "accounts.view_user")
    policy.require(actors.admin, "accounts.view_user")


def test_object_scope_agrees_with_restrict(actors):
    from apps.audit import services

    account_event = services.record("account.update", actors.officer, actors.admin)
    consultation = services.record_access(actors.officer, actors.privacy, reason="case 12/2026 review")
    assert policy.may(actors.admin, "audit.view_event", account_event)
    assert not policy.may(actors.admin, "audit.view_event", consultation)
    assert policy.may(actors.privacy, "audit.view_event", consultation)
    visible = set(Event.objects.restrict(actors.admin, "view").values_list("seq", flat=True))
    assert account_event.seq in visible and consultation.seq not in visible


def test_rank_seniority(make_user):
    inspector = make_user("insp", rank=Rank.INSPECTOR)
    staff = make_user("analyst")
    assert inspector.outranks_or_equals(Rank.SERGEANT)
    assert inspector.outranks_or_equals(Rank.INSPECTOR)
    assert not inspector.outranks_or_equals(Rank.SUPERINTENDENT)
    assert not staff.outranks_or_equals(Rank.CONSTABLE)


def test_services_check_the_actor_and_change_nothing_when_refused(actors):
    from apps.accounts import services

    with pytest.raises(PermissionDenied):
        services.set_roles(actors.officer, actors.officer, ["administrator"])
    actors.officer.refresh_roles()
    assert {r.value for r in actors.officer.roles} == {"officer"}
    services.set_roles(actors.admin, actors.officer, ["officer", "watchlist_compiler"], reason="new posting")
    assert User.objects.get(pk=actors.officer.pk).has_role("watchlist_compiler")
    assert Event.objects.filter(action="account.roles_changed", actor_username="admin").exists()


def test_warrant_numbers_are_unique_within_a_force(make_user):
    from django.core.exceptions import ValidationError

    make_user("a", warrant_number="1234", force="Kent Police")
    make_user("b", warrant_number="1234", force="Essex Police")
    with pytest.raises(ValidationError):
        make_user("c", warrant_number="1234", force="Kent Police")


def test_a_failed_change_leaves_no_event(actors):
    from apps.accounts import services

    before = Event.objects.count()
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="rank"):
        services.update_profile(actors.admin, actors.officer, rank="field_marshal")
    assert Event.objects.count() == before
