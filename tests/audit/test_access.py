"""Consultation logging (DPA 2018 s.62): no reason, no read; every read leaves who, when, what and why."""

import pytest

from apps.audit import services
from apps.audit.models import Event

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.audit.access_urls")]


def test_record_access_requires_a_reason(actors):
    with pytest.raises(services.ReasonRequired):
        services.record_access(actors.officer, actors.privacy, reason="  ")
    assert not Event.objects.filter(action="record.consulted").exists()


def test_a_page_asks_for_the_reason_before_showing_anything(actors, client):
    client.force_login(actors.privacy)
    before = Event.objects.count()
    response = client.get(f"/person/{actors.officer.pk}/")
    assert response.status_code == 200
    assert b"Why are you consulting this record?" in response.content
    assert b"officer consulted" not in response.content
    assert Event.objects.count() == before


def test_a_too_short_reason_is_refused(actors, client):
    client.force_login(actors.privacy)
    response = client.get(f"/person/{actors.officer.pk}/", {"reason": "x"})
    assert response.status_code == 400
    assert not Event.objects.filter(action="record.consulted").exists()


def test_with_a_reason_the_page_shows_and_the_read_is_logged(actors, client):
    client.force_login(actors.privacy)
    response = client.get(f"/person/{actors.officer.pk}/", {"reason": "subject access request SAR-2026-31"})
    assert response.status_code == 200
    assert response.content == b"officer consulted because subject access request SAR-2026-31"
    event = Event.objects.get(action="record.consulted")
    assert event.actor_username == "privacy"
    assert (event.target_type, event.target_id) == ("accounts.user", str(actors.officer.pk))
    assert event.reason == "subject access request SAR-2026-31"
    assert str(event.request_id) == response["X-Request-ID"]
