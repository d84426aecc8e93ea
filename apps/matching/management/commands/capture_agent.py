"""`manage.py capture_agent`: the capture agent beside a van's cameras (apps/matching/agent/).

    manage.py capture_agent --server https://govern.example --deployment 12 --source rtsp://camera/stream \
        --queue-dir /var/lib/govern-agent [--rate 10] [--credential-file /run/secrets/camera] \
        [--detect-width 1280] [--min-face 40] [--embed-every 10] [--detectors 2]

It reads the video, finds and matches faces against the deployment's approved templates in its own memory, follows
each person across frames and sends Govern one decision per person passing, through a local encrypted queue that
survives a dropped link and a restart. It never opens Govern's database. The camera credential comes from
--credential-file or GOVERN_CAMERA_CREDENTIAL (never the command line: it would show in the process list).
"""

import logging
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ...agent.client import GovernClient
from ...agent.queue import BatchQueue
from ...agent.runner import DETECT_WIDTH, DETECTORS, MIN_FACE, CaptureAgent
from ...agent.tracking import EMBED_EVERY
from ...agent.video import DEFAULT_RATE, VideoUnreadable
from ...engine import get_engine

CREDENTIAL_ENV = "GOVERN_CAMERA_CREDENTIAL"


def read_credential(path: str | None) -> str:
    """The camera credential from its file, or else from the environment; refused when neither holds one."""
    if path:
        try:
            credential = Path(path).read_text().strip()
        except OSError as exc:
            raise CommandError(f"Cannot read the credential file {path}: {exc}") from exc
    else:
        credential = os.environ.get(CREDENTIAL_ENV, "").strip()
    if not credential:
        raise CommandError(f"No camera credential: give --credential-file or set {CREDENTIAL_ENV}.")
    return credential


def between(low: int, high: int):
    """An argparse type: a whole number from low to high."""

    def parse(value: str) -> int:
        number = int(value)
        if not low <= number <= high:
            raise ValueError(value)
        return number

    parse.__name__ = f"whole number from {low} to {high}"
    return parse


def positive(value: str) -> float:
    number = float(value)
    if not 0 < number <= 60:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    """Run the capture agent for one deployment and one video source until the source ends or the deployment stops."""

    help = (
        "Capture faces from a video file or an RTSP/HTTP stream for one live deployment, one decision per person "
        "passing, sent to Govern through an encrypted local queue."
    )
    requires_system_checks = []  # the agent runs in a van, without Govern's database

    def add_arguments(self, parser):
        parser.add_argument("--server", required=True, help="Govern's base URL (e.g. https://govern.example).")
        parser.add_argument("--deployment", type=int, required=True, help="The live deployment's id.")
        parser.add_argument("--source", required=True, help="A video file, or an rtsp:// or http(s):// stream.")
        parser.add_argument("--queue-dir", type=Path, required=True, help="Folder of the local durable queue.")
        parser.add_argument(
            "--rate", type=positive, default=DEFAULT_RATE, help=f"Frames a second to sample (default {DEFAULT_RATE:g})."
        )
        parser.add_argument(
            "--detect-width",
            type=between(160, 7680),
            default=DETECT_WIDTH,
            help=f"Width of the copy faces are detected on; crops come from the full frame (default {DETECT_WIDTH}).",
        )
        parser.add_argument(
            "--min-face",
            type=between(12, 2000),
            default=MIN_FACE,
            help=f"Smallest face to look for, in the full frame's pixels (default {MIN_FACE}).",
        )
        parser.add_argument(
            "--embed-every",
            type=between(1, 1000),
            default=EMBED_EVERY,
            help=f"A track embeds its best face of each this many sampled frames (default {EMBED_EVERY}; 1: every "
            "face).",
        )
        parser.add_argument(
            "--detectors",
            type=between(1, 64),
            default=DETECTORS,
            help=f"Frames detected at once, one a thread (default {DETECTORS}: one a core of a 2-core box).",
        )
        parser.add_argument("--credential-file", help=f"File holding the camera credential (else ${CREDENTIAL_ENV}).")
        parser.add_argument(
            "--drain-seconds",
            type=float,
            default=30.0,
            help="Seconds to keep sending queued batches after capture ends (default 30; the rest wait for the next "
            "run).",
        )

    def handle(self, *args, **options):
        logging.basicConfig(level=logging.INFO if options["verbosity"] > 1 else logging.WARNING)
        credential = read_credential(options["credential_file"])
        queue = BatchQueue(options["queue_dir"], credential)
        client = GovernClient(options["server"], credential, options["deployment"])
        agent = CaptureAgent(
            client,
            get_engine(),
            queue,
            rate=options["rate"],
            detect_width=options["detect_width"],
            min_face=options["min_face"],
            embed_every=options["embed_every"],
            detectors=options["detectors"],
        )
        try:
            outcome = agent.run(options["source"], drain_seconds=options["drain_seconds"])
        except VideoUnreadable as exc:
            raise CommandError(f"{exc} (queued batches stay in {queue.path} for the next run)") from exc
        finally:
            if agent.session is not None:
                agent.session.drop_templates()
            client.close()
            queue.close()
        if outcome.reason.startswith("Not started"):
            raise CommandError(outcome.summary())
        self.stdout.write(outcome.summary())
