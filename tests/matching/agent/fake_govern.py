"""A stand-in for Govern's agent API (issue 25), as docs/architecture.md (The capture agent) describes it: one live
deployment, its templates, batches recorded whole or not at all and idempotent by batch id. An HTTP server on
127.0.0.1 whose link can be cut (its socket closed: connections refused) and restored on the same port. The agent's
tests and benchmarks/agent_bench.py talk to it; the end-to-end test against real Govern comes with the server's
endpoints."""

import base64
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np

CREDENTIAL = "kid123.camera-secret-for-tests"
THRESHOLD = "0.900"  # dlib scores obama2.jpg 0.94-0.96 against obama.jpg in these videos, biden.jpg 0.80-0.84


class FakeGovern:
    """The agent API as the contract says (docs/architecture.md, The capture agent): one live deployment, its
    templates, batches recorded whole or not at all, idempotent by batch id; `cut()` refuses connections until
    `restore()`. Tracks captured after `stopped_at` are refused (403, named in `tracks`) and their batch records
    nothing; the status says `stopped_at`."""

    def __init__(self, engine, templates: dict[int, np.ndarray]):
        self.engine, self.templates = engine, templates
        self.live, self.generation, self.stopped_at = True, 1, None
        self.batches: dict[str, tuple[bytes, dict]] = {}  # batch id -> (body, first answer)
        self.tracks: list[dict] = []
        self.posts: list[str] = []  # every batch id posted, in order (resends included)
        self.statuses = 0
        self.lose_answers = 0  # record, then close the connection without answering, this many times
        self.refuse_with: int | None = None
        self._server = self._serve(0)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def _serve(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def cut(self) -> None:
        """Close the listening socket: every connection is refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def restore(self) -> None:
        if self._server is None:
            self._server = self._serve(self.port)

    def stop(self, at: float) -> None:
        self.live, self.stopped_at = False, at

    def session_body(self) -> dict:
        return {
            "deployment": 12,
            "reference": "LFR-TEST",
            "watchlist_hash": "ab" * 32,
            "threshold": THRESHOLD,
            "engine": {
                "name": self.engine.name,
                "weights_sha256": self.engine.weights_sha256,
                "dimensions": self.engine.dimensions,
            },
            "generation": self.generation,
            "templates": [
                {"entry": entry, "vector": base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()}
                for entry, vector in self.templates.items()
            ],
            "poll_seconds": 2,
            "alert_window_seconds": 120,
        }

    def record(self, raw: bytes) -> tuple[int, dict]:
        body = json.loads(raw)
        batch_id = body["batch"]
        if batch_id in self.batches:
            first_raw, first = self.batches[batch_id]
            if json.loads(first_raw) != body:
                return 409, {"detail": "This batch id was recorded with another body."}
            return 200, {**first, "duplicate": True}
        if self.refuse_with:
            return self.refuse_with, {"detail": "refused for the test"}
        late = [
            track["track"]
            for track in body["tracks"]
            if self.stopped_at is not None and datetime.fromisoformat(track["last_seen"]).timestamp() > self.stopped_at
        ]
        if late:  # the batch records nothing; the tracks at fault are named, for the agent to send the rest again
            return 403, {"detail": f"Track(s) {', '.join(late)} were captured after the deployment stopped.",
                         "tracks": late}  # fmt: skip
        self.tracks.extend(body["tracks"])
        alerts = [track for track in body["tracks"] if track["decision"] == "alert"]
        answer = {
            "batch": batch_id,
            "tracks": len(body["tracks"]),
            "alerts": list(range(len(self.tracks), len(self.tracks) + len(alerts))),
            "attached": [],
            "receipts": len(body["tracks"]) - len(alerts),
            "faces": sum(track["faces"] for track in body["tracks"]),
            "duplicate": False,
        }
        self.batches[batch_id] = (raw, answer)
        return 201, answer

    def _handler(self):
        govern = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _admitted(self) -> bool:
                url = urlsplit(self.path)
                if self.headers.get("Authorization") != f"Camera {CREDENTIAL}":
                    self._answer(401, {"detail": "Invalid camera credential."})
                    return False
                if parse_qs(url.query).get("deployment") != ["12"]:
                    self._answer(403, {"detail": "This camera is not booked on that deployment."})
                    return False
                return True

            def do_GET(self):
                if not self._admitted():
                    return
                path = urlsplit(self.path).path
                if path == "/api/matching/agent/session/":
                    if not govern.live:
                        return self._answer(403, {"detail": "The deployment is not live."})
                    return self._answer(200, govern.session_body())
                if path == "/api/matching/agent/status/":
                    govern.statuses += 1
                    if govern.live:
                        return self._answer(200, {"live": True, "state": "live", "generation": govern.generation})
                    stopped_at = datetime.fromtimestamp(govern.stopped_at, UTC).isoformat()
                    return self._answer(
                        200, {"live": False, "state": "stopped", "reason": "emergency stop", "stopped_at": stopped_at}
                    )
                self._answer(404, {"detail": "Not found."})

            def do_POST(self):
                if not self._admitted():
                    return
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                govern.posts.append(json.loads(raw)["batch"])
                status, body = govern.record(raw)
                if govern.lose_answers and status == 201:
                    govern.lose_answers -= 1
                    self.close_connection = True
                    self.connection.shutdown(2)  # recorded, but the answer never reaches the agent
                    return
                self._answer(status, body)

        return Handler

    def close(self) -> None:
        self.cut()
