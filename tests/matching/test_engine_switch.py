"""Switching the engine in use no longer blinds approved lists silently (issue 24): a list whose templates were made
by another engine cannot go live and its frames are refused, saying so; an authorising officer re-enrols it on the
engine in use from its stored images (logged), and the other engine's templates stay."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import Event
from apps.deployments import services
from apps.deployments.models import Deployment
from apps.matching.engine import get_engine
from apps.matching.models import WatchlistTemplate
from apps.matching.services import enrolment, live_capture
from apps.watchlists.choices import WatchlistState
from tests.deployment_fixtures import ready

pytestmark = [pytest.mark.django_db]
OTHER = ("dlib-resnet-v1/mtcnn", "d" * 64)


def _made_by_another_engine(watchlist) -> None:
    """As if the list had been enrolled while another engine was in use."""
    WatchlistTemplate.objects.filter(watchlist=watchlist).update(engine=OTHER[0], weights_sha256=OTHER[1])
    enrolment.templates.cache_clear()


def test_going_live_is_refused_while_the_list_has_only_another_engines_templates(actors, approvers, planned, now):
    _made_by_another_engine(planned.watchlist)
    services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    ready(planned, actors.officer, planned.start)
    went, conditions = services.try_go_live(planned, now=planned.start + datetime.timedelta(minutes=1))
    failing = {condition.name: condition.detail for condition in conditions if not condition.ok}
    assert not went and set(failing) == {"enrolment"}
    assert f"enrolled only on {OTHER[0]}, not on the engine in use {get_engine().name}" in failing["enrolment"]
    assert "reenrol_watchlist" in failing["enrolment"]
    assert Deployment.objects.get(pk=planned.pk).state == "authorised"
    event = Event.objects.get(action="deployment.go_live_refused")
    assert [failed["name"] for failed in event.data["failing"]] == ["enrolment"]


def test_frames_are_refused_with_the_reason_after_the_engine_changed_and_match_again_once_reenrolled(
    live, vans, astronaut, actors
):
    _made_by_another_engine(live.watchlist)
    with pytest.raises(live_capture.CaptureRefused, match="not on the engine in use"):
        live_capture.capture_frame(vans[0], astronaut)
    refused = Event.objects.filter(action="capture.refused").latest("seq")
    assert "enrolled only on" in refused.reason
    call_command(
        "reenrol_watchlist", live.watchlist.reference, "--as", "commander", "--reason", "Engine changed on 7 Dec",
        stdout=io.StringIO(),
    )  # fmt: skip
    result = live_capture.capture_frame(vans[0], astronaut)
    assert len(result.alerts) == 1
    shown = enrolment.enrolments(live.watchlist, live.authorised_watchlist_hash)
    assert [(e.engine, e.in_use, e.complete) for e in shown] == [
        (get_engine().name, True, True),
        (OTHER[0], False, True),
    ]
    event = Event.objects.get(action="templates.reenrolled")
    assert event.actor == actors.commander and event.data["engine"] == get_engine().name
    assert event.data["templates"] == 1 and event.reason == "Engine changed on 7 Dec"


@pytest.mark.parametrize(
    ("username", "reason", "message"),
    [
        ("officer", "Engine changed on 7 Dec", "may not"),
        ("compiler", "Engine changed on 7 Dec", "may not"),
        ("commander", "short", "Say why"),
    ],
)
def test_reenrolment_is_refused_to_other_roles_and_without_a_reason_and_writes_nothing(
    live, actors, username, reason, message
):
    _made_by_another_engine(live.watchlist)
    with pytest.raises(CommandError, match=message):
        call_command("reenrol_watchlist", live.watchlist.reference, "--as", username, "--reason", reason)
    assert not WatchlistTemplate.objects.exclude(engine=OTHER[0]).exists()
    assert not Event.objects.filter(action__startswith="templates.reenrol").exists()


def test_a_list_not_in_force_is_not_reenrolled(live, actors):
    type(live.watchlist).objects.filter(pk=live.watchlist_id).update(state=WatchlistState.EXPIRED)
    with pytest.raises(CommandError, match="not approved and in force"):
        call_command("reenrol_watchlist", live.watchlist.reference, "--as", "commander", "--reason", "Engine changed")
