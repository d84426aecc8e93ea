"""Capture stops with the emergency stop (issue 25, point 4): the very next frame is refused, saying why, and records
nothing; the stopped list's templates leave the worker's memory; the demo camera stops filming."""

import io
import threading

import pytest

from apps.audit.models import Event
from apps.deployments import services as deployments
from apps.matching import demo_camera
from apps.matching.management.commands.demo_camera import Command as DemoCamera
from apps.matching.models import Alert, Capture, DeletionReceipt
from apps.matching.services import enrolment, live_capture

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

REASON = "The van's feed is being intercepted."
URL = "/api/matching/capture/"


def test_the_very_next_frame_after_the_stop_is_refused_and_its_list_leaves_memory(
    live, vans, astronaut, approvers, actors, client
):
    token = live_capture.issue_credential(approvers.superintendent, vans[0])
    sent = client.post(URL, astronaut, content_type="image/jpeg", HTTP_AUTHORIZATION=f"Camera {token}")
    assert sent.status_code == 201, sent.content
    assert live.watchlist_id in enrolment.held_watchlists()
    recorded = (Capture.objects.count(), Alert.objects.count(), DeletionReceipt.objects.count())

    deployments.emergency_stop(actors.privacy, REASON, live)
    refused = client.post(URL, astronaut, content_type="image/jpeg", HTTP_AUTHORIZATION=f"Camera {token}")

    assert refused.status_code == 403
    assert refused.json()["detail"] == f"{live.reference} was stopped in an emergency: {REASON}"
    assert (Capture.objects.count(), Alert.objects.count(), DeletionReceipt.objects.count()) == recorded
    assert Event.objects.filter(action="capture.refused").latest("seq").target_id == str(live.pk)
    assert live.watchlist_id not in enrolment.held_watchlists()


def test_a_refused_frame_does_not_drop_lists_that_no_stop_touched(live, vans, astronaut):
    live_capture.capture_frame(vans[0], astronaut)
    with pytest.raises(live_capture.CaptureRefused, match="not booked"):
        live_capture.capture_frame(vans[1], astronaut)  # a van booked on nothing
    assert live.watchlist_id in enrolment.held_watchlists()


class _StoppedAfter:
    """The demo camera's link to the capture endpoint, in this process, that stops the deployment after `frames`
    frames have been answered (or before the first one, at 0)."""

    def __init__(self, credential: str, actor, frames: int):
        self._camera, self._actor, self._frames, self.sent = demo_camera.InProcess(credential), actor, frames, 0

    def post(self, deployment_id, frame):
        if self.sent == self._frames == 0:
            deployments.emergency_stop(self._actor, REASON)
        answer = self._camera.post(deployment_id, frame)
        self.sent += 1
        if self.sent == self._frames:
            deployments.emergency_stop(self._actor, REASON)
        return answer


@pytest.mark.parametrize(
    "frames, said",
    [(1, "is no longer live: the demo camera stops"), (0, "was stopped in an emergency")],
)
def test_the_demo_camera_stops_when_its_deployment_is_stopped(live, vans, approvers, actors, frames, said):
    """Stopped between frames, the camera sees it before the next one; stopped while a frame is on its way, the
    refusal stops it. Either way it sends nothing more, at its default pace within 4 s of the stop."""
    camera = _StoppedAfter(live_capture.issue_credential(approvers.superintendent, vans[0]), actors.commander, frames)
    out = io.StringIO()
    totals = DemoCamera(stdout=out)._film(camera, live, "in-process", threading.Event(), 0, 0, 10, 1)
    assert said in out.getvalue()
    assert camera.sent == max(frames, 1)
    assert totals["frames"] == frames
