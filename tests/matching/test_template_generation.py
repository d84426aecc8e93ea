"""Templates deleted in one worker leave every other worker's memory before its next match (issue 26, point 4).

Two real worker processes (the application, the test settings, the committed test database) each match a frame of
the listed person, so each holds the list's templates. One then deletes the person's template (what a custody
deletion does to a list not yet purged): the other's next frame is not matched against it. One then purges the list:
the other's next frame is refused and its memory holds the list no more. Without the list's template generation, the
second worker would have alerted from memory, and kept the purged templates until its cache evicted them.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.processes import database_url, stop

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent.parent

WORKER = textwrap.dedent(
    """
    import datetime, json, sys
    from pathlib import Path

    import django

    django.setup()
    from django.db import transaction

    from apps.deployments import services as deployments
    from apps.deployments.models import Asset, Deployment
    from apps.matching.choices import Biometric
    from apps.matching.models import WatchlistTemplate
    from apps.matching.services import enrolment, live_capture
    from apps.matching.services.deletion_evidence import record_deletion_evidence
    from apps.watchlists.services import watchlists

    frame = Path(sys.argv[1]).read_bytes()
    asset, deployment = Asset.objects.get(pk=int(sys.argv[2])), Deployment.objects.get(pk=int(sys.argv[3]))
    for command in sys.stdin:
        command = command.strip()
        if command == "frame":
            try:
                result = live_capture.capture_frame(asset, frame)
                answer = {"alerts": len(result.alerts), "receipts": result.receipts}
            except live_capture.CaptureRefused as exc:
                answer = {"refused": str(exc)}
        elif command == "forget":  # a person's deletion reaching a list not yet purged
            with transaction.atomic():
                doomed = list(WatchlistTemplate.objects.filter(watchlist_id=deployment.watchlist_id))
                WatchlistTemplate.objects.filter(pk__in=[t.pk for t in doomed]).delete()
                record_deletion_evidence(Biometric.WATCHLIST_TEMPLATE, [t.pk for t in doomed])
                enrolment.templates_changed(deployment.watchlist_id)
            answer = {"forgotten": len(doomed)}
        elif command == "purge":
            deployments.run_schedule(now=deployment.end + datetime.timedelta(minutes=1))
            watchlists.sweep(now=deployment.end + datetime.timedelta(days=2))
            answer = {"purged": True}
        answer["held"] = enrolment.held_watchlists()
        print(json.dumps(answer), flush=True)
    """
)


class Worker:
    """One worker process, driven a command a line."""

    def __init__(self, frame: Path, asset_id: int, deployment_id: int):
        environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "govern.settings.test", "DATABASE_URL": database_url()}
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(frame), str(asset_id), str(deployment_id)],
            cwd=ROOT, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the worker ended (exit {self.process.wait(timeout=30)})"
        return json.loads(line)


def test_templates_deleted_in_one_worker_are_dropped_by_the_other_before_its_next_frame(
    live, vans, astronaut, tmp_path
):
    frame = tmp_path / "frame.jpg"
    frame.write_bytes(astronaut)
    first, second = (Worker(frame, vans[0].pk, live.pk) for _ in range(2))
    try:
        for worker in (first, second):
            assert worker.ask("frame") == {"alerts": 1, "receipts": 0, "held": [live.watchlist_id]}
        assert first.ask("forget")["forgotten"] == 1
        # The second worker still held the person's template: it re-reads the list and finds nobody left on it, so it
        # matches nobody: the frame is refused, saying the list has no templates to match, and nothing is held.
        after = second.ask("frame")
        assert "alerts" not in after and "without a complete set of templates" in after["refused"], after
        assert after["held"] == []
        assert first.ask("purge")["purged"]
        refused = second.ask("frame")
        assert "not booked on a deployment that is live now" in refused["refused"]
        assert refused["held"] == []  # the purged list's templates left its memory with that frame
    finally:
        for worker in (first, second):
            worker.process.stdin.close()
            stop(worker.process)
