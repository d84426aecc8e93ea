"""Retention: privacy officers set the periods; the sweep deletes exactly what is past them and not held."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.audit.models import Event
from apps.matching.models import Alert
from apps.matching.services import alert_handling, live_capture
from apps.oversight import services
from apps.oversight.choices import DataClass
from apps.oversight.retention import retention_hours
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Watchlist

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
WHY = "DPIA review 2026: 31 days is longer than needed for complaints."


def test_only_a_privacy_officer_sets_retention_with_a_reason(actors, approvers):
    for someone in (actors.officer, approvers.superintendent, actors.oversight, actors.admin):
        with pytest.raises(PermissionDenied):
            services.set_retention(someone, DataClass.FALSE_ALERTS, hours=24, reason=WHY)
    with pytest.raises(ValidationError, match="at least 20"):
        services.set_retention(actors.privacy, DataClass.FALSE_ALERTS, hours=24, reason="shorter")
    with pytest.raises(ValidationError, match="legal period"):
        services.set_retention(actors.privacy, DataClass.ACCESS_LOGS, hours=24, reason=WHY)
    services.set_retention(actors.privacy, DataClass.FALSE_ALERTS, hours=24, reason=WHY)
    assert retention_hours(DataClass.FALSE_ALERTS) == 24
    event = Event.objects.get(action="retention.policy_set")
    assert event.data == {"data_class": "false_alerts", "hours": 24, "previous_hours": 31 * 24}


def _alerts(live, vans, astronaut, n):
    return [Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0]) for _ in range(n)]


def test_the_sweep_deletes_exactly_what_is_past_retention_and_not_held(actors, approvers, live, vans, astronaut):
    services.set_retention(actors.privacy, DataClass.FALSE_ALERTS, hours=24, reason=WHY)
    services.set_retention(actors.privacy, DataClass.CONFIRMED_ALERTS, hours=72, reason=WHY)
    services.set_retention(actors.privacy, DataClass.WATCHLISTS, hours=12, reason=WHY)
    old_false, held_false, recent_false, old_true, pending = _alerts(live, vans, astronaut, 5)
    for alert in (old_false, held_false, recent_false):
        alert_handling.adjudicate(actors.officer, alert, match=False, reason="Different person: older, taller")
    alert_handling.adjudicate(actors.officer, old_true, match=True, reason="Same person: scar and ears")
    alert_handling.place_hold(approvers.superintendent, held_false, reason="Complaint received: keep as evidence")
    now = timezone.now()
    Alert.objects.filter(pk__in=[old_false.pk, held_false.pk]).update(adjudicated_at=now - datetime.timedelta(hours=30))
    Alert.objects.filter(pk=old_true.pk).update(adjudicated_at=now - datetime.timedelta(hours=80))
    ended = Watchlist.objects.create(
        reference="WL-TEST-OLD",
        purpose="An old list",
        intended_start=now - datetime.timedelta(days=3),
        intended_end=now - datetime.timedelta(days=2),
        state=WatchlistState.EXPIRED,
        compiled_by=actors.compiler,
        purge_due_at=now - datetime.timedelta(hours=2),  # ended 26 hours ago with the default 24-hour window
    )

    preview = services.retention_sweep(now=now, dry_run=True)
    assert {(i.target, i.outcome) for i in preview} == {
        (f"alert {old_false.pk}", "due"),
        (f"alert {held_false.pk}", "held"),
        (f"alert {old_true.pk}", "due"),
        ("WL-TEST-OLD", "due"),
    }
    assert not Event.objects.filter(action="alert.probe_deleted").exists()  # a dry run deletes nothing

    done = services.retention_sweep(now=now)
    assert {(i.target, i.outcome) for i in done} == {
        (f"alert {old_false.pk}", "deleted"),
        (f"alert {held_false.pk}", "held"),
        (f"alert {old_true.pk}", "deleted"),
        ("WL-TEST-OLD", "deleted"),
    }
    held = next(i for i in done if i.outcome == "held")
    assert "supt" in held.detail and "Complaint received" in held.detail
    for alert in (old_false, old_true):
        alert.refresh_from_db()
        assert alert.probe_deleted_at is not None and bytes(alert.probe_ciphertext) == b""
        assert Event.objects.filter(action="alert.probe_deleted", target_id=str(alert.pk)).count() == 1
    for alert in (held_false, recent_false, pending):
        alert.refresh_from_db()
        assert alert.probe_deleted_at is None and bytes(alert.probe_ciphertext)
    ended.refresh_from_db()
    assert ended.state == WatchlistState.PURGED and hasattr(ended, "manifest")
    assert Event.objects.filter(action="watchlist.purge", target_id=str(ended.pk)).count() == 1
    assert Event.objects.get(action="retention.sweep").data == {
        "deleted": {"false_alerts": 1, "confirmed_alerts": 1, "watchlists": 1}
    }

    receipts = Event.objects.count()
    second = services.retention_sweep(now=now)
    assert [i.outcome for i in second] == ["held"]  # the hold is listed again; nothing else is touched
    assert Event.objects.count() == receipts
    assert alert_handling.reconciliation(live)["reconciles"]


def test_retrospective_candidates_go_after_closure(actors, live, astronaut):
    from apps.matching.models import Probe
    from apps.matching.services import retrospective
    from apps.watchlists.models import CustodyImage

    for image in CustodyImage.objects.all():
        retrospective.enrol_custody_image(image.pk)
    request = retrospective.submit(actors.officer, [astronaut], incident_reference="CRIME/123/26", crime_type="Theft")
    retrospective.run_search(request.pk)
    assert Probe.objects.filter(request=request).exclude(candidates=[]).exists()
    retrospective.close(actors.officer, request, reason="Case closed: CRIME/123/26 resolved")
    services.set_retention(actors.privacy, DataClass.RETROSPECTIVE_PROBES, hours=1, reason=WHY)
    assert services.retention_sweep(now=timezone.now()) == []  # closed less than an hour ago
    later = timezone.now() + datetime.timedelta(hours=2)
    (item,) = services.retention_sweep(now=later)
    assert (item.target, item.outcome) == (request.reference, "deleted")
    assert not Probe.objects.filter(request=request).exclude(candidates=[]).exists()
    assert (
        Event.objects.filter(action="probe.candidates_deleted").count() == Probe.objects.filter(request=request).count()
    )
    assert services.retention_sweep(now=later) == []
