"""`manage.py capture_agent`: the capture agent beside a van's cameras (apps/matching/agent/).

    manage.py capture_agent --server https://govern.example --deployment 12 --source rtsp://camera/stream \
        --queue-dir /var/lib/govern-agent [--rate 10] [--credential-file /run/secrets/camera]

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
from ...agent.runner import CaptureAgent
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
        agent = CaptureAgent(client, get_engine(), queue, rate=options["rate"])
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
