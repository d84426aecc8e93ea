"""The permission policy: data, applied to every query; unknown actions are errors, not a quiet yes."""

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied

from apps.accounts.models import User
from apps.audit.models import Event
from govern import policy
from govern.restricted import RestrictedQuerySet
from govern.roles import Rank

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
    from apps.audit import services as audit

    account_event = audit.record("account.update", actors.officer, actors.admin)
    consultation = audit.record_access(actors.officer, actors.privacy, reason="case 12/2026 review")
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
    from apps.accounts.services import accounts

    with pytest.raises(PermissionDenied):
        accounts.set_roles(actors.officer, actors.officer, ["administrator"])
    actors.officer.refresh_roles()
    assert {r.value for r in actors.officer.roles} == {"officer"}
    accounts.set_roles(actors.admin, actors.officer, ["officer", "watchlist_compiler"], reason="new posting")
    assert User.objects.get(pk=actors.officer.pk).has_role("watchlist_compiler")
    assert Event.objects.filter(action="account.roles_changed", actor_username="admin").exists()


def test_warrant_numbers_are_unique_within_a_force(make_user):
    from django.core.exceptions import ValidationError

    make_user("a", warrant_number="1234", force="Kent Police")
    make_user("b", warrant_number="1234", force="Essex Police")
    with pytest.raises(ValidationError):
        make_user("c", warrant_number="1234", force="Kent Police")


def test_a_failed_change_leaves_no_event(actors):
    from apps.accounts.services import accounts

    before = Event.objects.count()
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="rank"):
        accounts.update_profile(actors.admin, actors.officer, rank="field_marshal")
    assert Event.objects.count() == before


# --- Actor conditions hold on every call, with or without an object (issue 20, item 3) --------------------------


def _candidates(make_user, declared):
    """For each of the rule's roles, a person holding only it, of no rank and no unit: who fails rank and unit."""
    return [make_user(f"cand-{declared.action}-{role}"[:150], role, rank="", unit="") for role in declared.roles]


def test_every_rule_refuses_an_actor_who_fails_its_actor_conditions_without_an_object(make_user):
    """Meta-test: for every registered rule, a person without its role, and (where the rule has an actor condition)
    a person with the role who fails the condition, is refused with no object: require raises RoleRefused, may says
    no and the rule's scope is empty. A rule with an actor condition that no candidate fails is reported: the walk
    must not pass by skipping it."""
    outsider = make_user("meta-outsider")
    untested = []
    for action, declared in policy.rules().items():
        assert not policy.may(outsider, action), action
        with pytest.raises(policy.RoleRefused):
            policy.require(outsider, action)
        if declared.actor is None:
            continue
        failing = [user for user in _candidates(make_user, declared) if declared.actor(user) is not None]
        if not failing:
            untested.append(action)
        for user in failing:
            assert not policy.may(user, action), (action, user)
            assert policy.refusal(user, action) == declared.actor(user)
            with pytest.raises(policy.RoleRefused):
                policy.require(user, action)
            assert policy.scope(user, action) == policy.NOTHING
    assert not untested, f"no candidate fails the actor condition of: {untested}"


def test_rank_is_checked_without_an_object(approvers):
    """The hole: policy.require(actor, "matching.approve_engine") did not check rank, as no object was passed."""
    for action in (
        "matching.approve_engine",
        "oversight.propose_governedchange",
        "deployments.authorise_deployment",
        "deployments.approve_policydocument",
        "watchlists.approve_watchlist",
        "watchlists.ratify_watchlist",
    ):
        with pytest.raises(policy.RoleRefused, match="Superintendent or above"):
            policy.require(approvers.chief_inspector, action)
        policy.require(approvers.superintendent, action)
    policy.require(approvers.inspector, "watchlists.approve_watchlist_urgently")


def test_one_rank_helper_and_no_local_patches():
    """The shadow policy API and the hand-written rank checks are gone: every app states rank through the policy."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2] / "apps"
    sources = {path: path.read_text() for path in root.rglob("*.py")}
    assert not [p for p, text in sources.items() if "_full_rank" in text or "def _rank_at_least" in text]
    from apps.disclosures import permissions as disclosures

    assert not hasattr(disclosures, "require") and not hasattr(disclosures, "refusal")


def test_a_request_without_its_second_factor_is_refused_by_every_rule_of_such_a_role(actors):
    """A user marked by a request as not having entered their code is refused whatever the rule."""
    actors.commander.second_factor_missing = True
    with pytest.raises(policy.RoleRefused, match="two-factor"):
        policy.require(actors.commander, "deployments.authorise_deployment")
    actors.officer.second_factor_missing = True  # an officer signs in without one: the mark changes nothing
    policy.require(actors.officer, "deployments.run_deployment")
