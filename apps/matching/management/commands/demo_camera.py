"""`manage.py demo_camera`: the van of the live demo deployment films the street while `make run` serves.

It posts frames over HTTP to the server's capture endpoint with a camera credential that the demo commander issues
for the van through the service (logged as any credential is; it revokes the van's earlier one, and is revoked
itself when the camera stops): mostly passers-by,
who leave deletion receipts, and every `--alert-every`th frame a photograph of a listed subject, which alerts (with
dlib's engine another photograph of the listed stand-in; with the uncalibrated engine the enrolled photograph itself:
apps/matching/demo_camera.py says why only those). One line a frame. It stops after
the frame in flight on Ctrl-C or SIGTERM, after `--frames` frames, or when no demo deployment is live; a server that
does not answer yet is tried again, waiting longer each time, for `--patience` seconds.
"""

import signal
import threading
import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.accounts.models import User
from apps.deployments import demo as deployments_demo
from apps.deployments import services as deployments
from apps.deployments.models import Deployment

from ... import demo_camera
from ...services import live_capture

# Answers from nginx while gunicorn is not up yet (502), or from Govern while its database is away (503): try again.
NOT_UP = {502, 503, 504}
LONGEST_WAIT = 30.0


class Command(BaseCommand):
    """Film the live demo deployment until stopped: one frame every few seconds, an alert now and then."""

    help = (
        "Post demo frames to the live demo deployment's capture endpoint over HTTP, with the van's credential, until "
        "stopped (Ctrl-C or SIGTERM) or the deployment is no longer live. Refuses to run with DEBUG off unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000", help="The server (default http://127.0.0.1:8000)."
        )
        parser.add_argument("--every", type=float, default=4.0, help="Seconds between frames (default 4).")
        parser.add_argument(
            "--alert-every",
            type=int,
            default=20,
            help="Every Nth frame is a photograph of a listed subject, which alerts (default 20: one every 80 s at the "
            "default rate; 0: never).",
        )
        parser.add_argument("--frames", type=int, default=0, help="Stop after this many frames (default 0: never).")
        parser.add_argument(
            "--patience",
            type=float,
            default=300.0,
            help="Seconds to keep trying a server that does not answer before giving up (default 300).",
        )
        parser.add_argument("--force", action="store_true", help="Film even though DEBUG is off.")

    def handle(self, *args, url, every, alert_every, frames, patience, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("The demo camera replaces a van's credential: run it with DEBUG on, or --force.")
        deployment = deployments_demo.live_now()
        if deployment is None:
            self._say("No demo deployment is live now: the demo camera has nothing to film (seed_demo makes one).")
            return
        commander = User.objects.filter(username="commander").first()
        if commander is None:
            raise CommandError("The demo's commander is missing: run seed_demo first.")
        van = deployment.assets.order_by("pk").first()
        credential = live_capture.issue_credential(commander, van)
        camera = demo_camera.OverHttp(url, credential)
        stop = threading.Event()
        previous = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)}
        self._say(
            f"Demo camera: {van.identifier} at {deployment.reference} ({deployment.location_name}, threshold "
            f"{deployment.threshold}) posts a frame every {every:g} s to {url}"
            + (f", every {alert_every}th a photograph of a listed subject" if alert_every else "")
            + ". Ctrl-C stops it."
        )
        if settings.FACE_UNCALIBRATED and deployment.threshold < 1:  # as the banner tells
            self._say(f"With the uncalibrated engine every face alerts at {deployment.threshold} (README, The demo).")
        try:
            totals = self._film(camera, deployment, url, stop, every, alert_every, frames, patience)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            camera.close()
            demo_camera.put_away(commander, credential, "The demo camera stopped.")
        self._say(
            f"Demo camera stopped after {totals['frames']} frames: faces {totals['faces']} = alerts {totals['alerts']}"
            f" + deletion receipts {totals['receipts']}."
        )

    def _film(self, camera, deployment, url, stop, every, alert_every, frames, patience) -> dict:
        totals = {"frames": 0, "faces": 0, "alerts": 0, "receipts": 0}
        number = 0
        while not stop.is_set() and (not frames or number < frames):
            current = Deployment.objects.select_related("watchlist").get(pk=deployment.pk)
            if not deployments.is_live(current):
                self._say(f"{deployment.reference} is no longer live: the demo camera stops.")
                break
            shot = demo_camera.shot(number, alert_every)
            answer = self._post(camera, deployment.pk, shot, url, stop, patience)
            if answer is None:  # stopped while waiting for the server
                break
            number += 1
            detail = answer.body.get("detail", answer.body)
            if answer.status == 403:
                self._say(f"{deployment.reference} refused frame {number}: {detail} The demo camera stops.")
                break
            if answer.status == 401:
                raise CommandError(f"The van's credential was refused ({detail}): was another one issued since?")
            if answer.status != 201:
                raise CommandError(f"The capture endpoint refused frame {number} ({answer.status}): {detail}")
            body = answer.body
            totals["frames"] += 1
            for name in ("faces", "receipts"):
                totals[name] += body[name]
            totals["alerts"] += len(body["alerts"])
            alerts = f": ALERT {', '.join(map(str, body['alerts']))} for an officer to judge" if body["alerts"] else ""
            self._say(
                f"{timezone.localtime():%H:%M:%S} frame {number}, {shot.label}: faces {body['faces']} = "
                f"alerts {len(body['alerts'])} + deletion receipts {body['receipts']}{alerts}"
            )
            if not frames or number < frames:
                stop.wait(every)
        return totals

    def _post(self, camera, deployment_id, shot, url, stop, patience) -> demo_camera.Answer | None:
        """The endpoint's answer to the shot; a server not up yet is tried again, waiting twice as long each time."""
        began, wait = time.monotonic(), 1.0
        while True:
            try:
                answer = camera.post(deployment_id, shot.frame)
                if answer.status not in NOT_UP:
                    return answer
                why = f"it answered {answer.status}"
            except requests.ConnectionError:
                why = "no connection"
            except requests.Timeout:
                why = "no answer in time"
            if time.monotonic() - began + wait > patience:
                raise CommandError(
                    f"Govern did not answer at {url} for {patience:g} s ({why}): is the server running? "
                    "(`make run` starts it.)"
                )
            self._say(f"Govern is not answering at {url} yet ({why}); trying again in {wait:g} s.")
            if stop.wait(wait):
                return None
            wait = min(wait * 2, LONGEST_WAIT)

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()  # one line a frame, as it happens, also when the output is a pipe (make run)
