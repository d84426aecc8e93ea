"""The capture agent against real Govern, end to end (issue 25): Govern served by a live server, a deployment live on
the dlib engine with Barack Obama listed (from obama.jpg), a camera credential issued through the service, and the
real agent reading a generated video (obama2.jpg listed, biden.jpg passing by) through a TCP proxy that can cut the
link. Govern records one alert per listed person passing and one receipt per passer-by, and the deployment's ledger
balances in the reconciliation and the offline verifier, through a 60 s outage, a lost answer and an emergency stop.
"""

import contextlib
import datetime
import json
import re
import socket
import socketserver
import threading
import time

import pytest
from django.utils import timezone

from apps.audit import verifier
from apps.audit.models import Event
from apps.deployments import services as deployments
from apps.matching.agent.client import GovernClient
from apps.matching.agent.queue import BatchQueue
from apps.matching.agent.runner import CaptureAgent, WallClock
from apps.matching.agent.scenes import Passer
from apps.matching.models import AgentBatch, Alert, AlertSighting, Capture, DeletionReceipt
from apps.matching.services import alert_handling, live_capture
from apps.oversight import reconciliation
from tests.matching.test_real_faces import dlib, obama_listed  # noqa: F401 (fixtures)

from .conftest import HEIGHT, ScriptedClock, video

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
REASON = "Suspect device reported near the van: stop capture now."


@pytest.fixture
def now():
    """The deployment went live ten minutes ago, so a recorded video's timeline can lie within its live window."""
    return timezone.now().replace(microsecond=0) - datetime.timedelta(minutes=10)


class LinkProxy:
    """A TCP proxy between the agent and Govern. `cut()` closes its socket and every connection through it (the
    agent's connections are refused) until `restore()` opens it again on the same port; with `lose_answers` the next
    POSTs reach Govern but their answers never come back. `posted` holds the batch id of every POST let through."""

    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self.lose_answers, self.posted = 0, []
        self.port, self._server, self._sockets = 0, None, set()
        self.restore()
        self.url = f"http://127.0.0.1:{self.port}"

    def _relay(self):
        proxy = self

        class Relay(socketserver.BaseRequestHandler):
            def handle(self):
                client, upstream = self.request, socket.create_connection(proxy.target)
                proxy._sockets.update((client, upstream))
                lose = threading.Event()

                def answers():
                    try:
                        while data := upstream.recv(65536):
                            if lose.is_set():  # Govern answered; the answer is lost with the connection
                                break
                            client.sendall(data)
                    except OSError:
                        pass
                    finally:
                        _close(client, upstream)

                threading.Thread(target=answers, daemon=True).start()
                try:
                    while data := client.recv(65536):
                        if data.startswith(b"POST ") and proxy.lose_answers:
                            proxy.lose_answers -= 1
                            lose.set()
                        proxy.posted += re.findall(rb'"batch":\s*"([0-9a-f-]{36})"', data)
                        upstream.sendall(data)
                except OSError:
                    pass
                finally:
                    _close(client, upstream)

        return Relay

    def cut(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        for each in list(self._sockets):
            _close(each)
        self._sockets.clear()

    def restore(self) -> None:
        self._server = _Listener(("127.0.0.1", self.port), self._relay())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.cut()


class _Listener(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # restored on the same port at once


def _close(*sockets) -> None:
    for each in sockets:
        with contextlib.suppress(OSError):
            each.shutdown(socket.SHUT_RDWR)
        each.close()


class ScriptedWallClock(WallClock):
    """A live camera's clock, with things that happen at given seconds of the video (a stop)."""

    def __init__(self, script):
        self.script = list(script)

    def at_frame(self, sample) -> None:
        while self.script and self.script[0][0] <= sample.time:
            self.script.pop(0)[1]()


@pytest.fixture
def van(live_server, obama_listed, approvers, vans):  # noqa: F811
    """The van's side: a credential issued through the service and a proxy to the live server."""
    credential = live_capture.issue_credential(approvers.superintendent, vans[0])
    proxy = LinkProxy(int(live_server.url.rsplit(":", 1)[1]))
    yield proxy, obama_listed, credential
    proxy.close()


def _run(van, engine, clock, rate: float, source: str, queue_dir):
    """The real agent, through the proxy, until the video ends or the deployment stops."""
    proxy, deployment, credential = van
    queue = BatchQueue(queue_dir, credential)
    try:
        agent = CaptureAgent(GovernClient(proxy.url, credential, deployment.pk), engine, queue, rate=rate, clock=clock)
        return agent.run(source, drain_seconds=30)
    finally:
        queue.close()


def _ledger_balances(deployment, outcome) -> None:
    """Every track and face the agent decided is recorded once, and the reconciliation and the offline verifier
    agree: faces = faces in alerted tracks + in receipted tracks, tracks = alerts + sightings + receipts."""
    captures = Capture.objects.filter(deployment=deployment)
    assert sum(captures.values_list("tracks", flat=True)) == outcome.tracks
    assert sum(captures.values_list("faces", flat=True)) == sum(
        [
            *Alert.objects.values_list("faces", flat=True),
            *AlertSighting.objects.values_list("faces", flat=True),
            *DeletionReceipt.objects.values_list("faces", flat=True),
        ]
    )
    [ledger] = reconciliation.ledgers()
    assert ledger.reconciles, ledger.problem
    assert alert_handling.reconciliation(deployment)["reconciles"]
    parsed = [(e.seq, e.canonical, json.loads(e.canonical)) for e in Event.objects.order_by("seq")]
    fields = ("event_seq", "commitment", "watchlist_hash", "engine", "best_score")
    receipts = [{"deployment": deployment.pk, **row} for row in DeletionReceipt.objects.values(*fields)]
    counted, problems = verifier._ledger(parsed, receipts, deployment.pk)
    assert problems == []
    assert counted["tracks"] == outcome.tracks and counted["faces"] == ledger.faces


def test_a_60_second_outage_and_a_lost_answer_lose_nothing_and_record_each_batch_once(
    van, dlib_engine, tmp_path, settings
):
    """80 s of street on the video's timeline (which lies within the live window, ending two minutes ago): three
    passes of the listed person, two of a passer-by; the link refuses connections from 10 s to 70 s, and the first
    batch sent after it comes back is recorded but its answer lost."""
    settings.ALERT_WINDOW_SECONDS = 5  # each pass its own alert (the window's attaching is tested in test_agent_api)
    proxy, deployment, _ = van
    people = [
        Passer("obama2", 2.0, 12.0, HEIGHT),
        Passer("biden", 16.0, 16.0, 240, leftward=True),
        Passer("obama2", 34.0, 12.0, HEIGHT),
        Passer("biden", 48.0, 16.0, 240),
        Passer("obama2", 66.0, 12.0, HEIGHT, leftward=True),
    ]
    path = video(tmp_path / "street.mp4", people, seconds=80, fps=1)

    def back():
        proxy.restore()
        proxy.lose_answers = 1

    clock = ScriptedClock(time.time() - 200, [(10.0, proxy.cut), (70.0, back)])
    outcome = _run(van, dlib_engine, clock, 1, path, tmp_path / "queue")
    assert (outcome.tracks, outcome.alerts, outcome.receipts) == (5, 3, 2), outcome.summary()
    assert (outcome.pending, outcome.refused) == (0, 0), outcome.summary()
    assert Alert.objects.filter(deployment=deployment).count() == 3 and AlertSighting.objects.count() == 0
    assert DeletionReceipt.objects.filter(deployment=deployment).count() == 2
    # A batch sent twice (its answer lost) is recorded once.
    posted = [batch.decode() for batch in proxy.posted]
    assert len(posted) > len(set(posted)) and AgentBatch.objects.count() == len(set(posted))
    # Alerts say when they were seen, not when the link let them through.
    seen = sorted(alert.first_seen.timestamp() - clock.start for alert in Alert.objects.all())
    assert seen == pytest.approx([2, 34, 66], abs=1.5)
    _ledger_balances(deployment, outcome)


@pytest.mark.parametrize("link_down", [0.0, 2.0], ids=["link up", "link down at the stop"])
def test_an_emergency_stop_mid_stream_ends_the_agent_within_5_seconds_and_records_what_was_seen_while_live(
    van, dlib_engine, tmp_path, actors, link_down
):
    """A live camera (the wall clock): the listed person crosses for 14 s, a passer-by for the first 3 s; a privacy
    officer stops the deployment 6 s in, while the listed person is in the street. The agent ends within 5 s of the
    stop, or of the link's return when the link was down at the stop (it captured on meanwhile, as it must: a dropped
    status poll is no stop). The open track is cut where the live window closed (the status's stopped_at): its faces
    before the stop are recorded, one alert, none after it, and nothing is refused."""
    proxy, deployment, _ = van
    people = [Passer("obama2", 0.0, 14.0, HEIGHT), Passer("biden", 0.0, 3.0, 240, leftward=True)]
    path = video(tmp_path / "stop.mp4", people, seconds=20, fps=10)
    moments = {}

    def stop():
        if link_down:
            proxy.cut()
        deployments.emergency_stop(actors.privacy, REASON, deployment)
        moments["stop"] = moments["told"] = time.time()

    def back():
        proxy.restore()
        moments["told"] = time.time()

    script = [(6.0, stop), (6.0 + link_down, back)] if link_down else [(6.0, stop)]
    outcome = _run(van, dlib_engine, ScriptedWallClock(script), 10, path, tmp_path / "queue")
    assert outcome.reason.startswith(f"Stopped: deployment {deployment.pk} is stopped"), outcome.summary()
    assert outcome.stopped_at - moments["told"] <= 5.0
    if link_down:
        assert outcome.frames >= 6.0 * 10 + link_down * 10  # it captured on after the stop, the link being down
    assert (outcome.alerts, outcome.receipts, outcome.pending, outcome.refused) == (1, 1, 0, 0), outcome.summary()
    [period] = deployments.live_periods(deployment)
    alert = Alert.objects.get(deployment=deployment)
    assert alert.last_seen <= period[1] and alert.frames <= 61  # frames 0 to 6 s at 10 a second, none after
    assert DeletionReceipt.objects.filter(deployment=deployment).count() == 1
    _ledger_balances(deployment, outcome)
