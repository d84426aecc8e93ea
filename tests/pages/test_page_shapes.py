"""The shapes pages share (govern/pages.py): a register's add form, and a decision posted with one reason."""

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import RequestFactory

from apps.deployments.models import Asset
from govern import policy
from govern.pages import act_with_reason, added

pytestmark = pytest.mark.django_db


class NameForm(forms.Form):
    name = forms.CharField(max_length=10)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=20)


def _request(user, method="post", data=None):
    request = getattr(RequestFactory(), method)("/somewhere/", data or {})
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def _said(request) -> list[str]:
    return [str(message) for message in get_messages(request)]


def test_added_records_a_valid_form_once_and_says_so(actors):
    request = _request(actors.commander, data={"name": "van 1"})
    recorded = []
    form = NameForm(request.POST)
    done = added(request, form, "deployments.add_asset", lambda name: recorded.append(name) or name, "{} in.".format)
    assert done and recorded == ["van 1"] and _said(request) == ["van 1 in."]


def test_added_puts_the_services_refusal_on_the_form(actors):
    request = _request(actors.commander, data={"name": "van 1"})
    form = NameForm(request.POST)

    def refuse(name):
        raise ValidationError({"name": "Taken."})

    assert not added(request, form, "deployments.add_asset", refuse, "{}".format)
    assert form.errors == {"name": ["Taken."]} and _said(request) == []


def test_added_checks_the_role_before_the_form_and_ignores_a_get(actors):
    called = []
    with pytest.raises(policy.RoleRefused):
        added(_request(actors.officer), NameForm({}), "deployments.add_asset", called.append, "{}".format)
    assert not added(_request(actors.commander, "get"), NameForm(), "deployments.add_asset", called.append, str)
    assert called == []


def test_act_with_reason_passes_the_reason_and_the_object(actors):
    asset = Asset.objects.create(kind="van", identifier="VAN-9")
    request = _request(actors.commander, data={"reason": "Sold on"})
    acted = []
    found = act_with_reason(
        request,
        "deployments.retire_asset",
        Asset.objects.all(),
        asset.pk,
        ReasonForm,
        lambda thing, reason: acted.append((thing.pk, reason)),
        success=lambda thing: f"{thing.identifier} gone.",
    )
    assert found == asset and acted == [(asset.pk, "Sold on")] and _said(request) == ["VAN-9 gone."]


def test_act_with_reason_hands_a_blank_reason_to_the_service_and_shows_its_refusal(actors):
    asset = Asset.objects.create(kind="van", identifier="VAN-9")
    request = _request(actors.commander, data={"reason": ""})

    def refuse(thing, reason):
        assert reason == ""
        raise ValidationError("Say why.")

    act_with_reason(request, "deployments.retire_asset", Asset.objects.all(), asset.pk, ReasonForm, refuse, str)
    assert _said(request) == ["Say why."]


def test_act_with_reason_refuses_a_role_before_looking_the_object_up(actors):
    with pytest.raises(PermissionDenied):
        act_with_reason(
            _request(actors.officer), "deployments.retire_asset", Asset.objects.all(), 999999, ReasonForm, None, str
        )
    with pytest.raises(Http404):
        act_with_reason(
            _request(actors.commander), "deployments.retire_asset", Asset.objects.all(), 999999, ReasonForm, None, str
        )
