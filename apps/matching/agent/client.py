"""The agent API of a Govern server (/api/matching/agent/), with the van's camera credential."""

from dataclasses import dataclass

import requests

PATH = "/api/matching/agent/"
# (connect, read) seconds: a status poll must answer quickly for a stop to be seen within 5 s; a session (every
# template) and a batch (crops) may take longer to move over a mobile link.
STATUS_TIMEOUT, TRANSFER_TIMEOUT = (2.0, 2.0), (5.0, 30.0)


class LinkDown(RuntimeError):
    """Govern could not be reached, or could not answer (a refused connection, a timeout, a 5xx)."""


@dataclass(frozen=True)
class Answer:
    """Govern's answer: the status and the JSON body (`detail` holds a refusal's reason)."""

    status: int
    body: dict

    @property
    def detail(self) -> str:
        return str(self.body.get("detail", self.body))


class GovernClient:
    """One deployment's agent endpoints on the server at `base_url`."""

    def __init__(self, base_url: str, credential: str, deployment: int):
        self._base = base_url.rstrip("/") + PATH
        self._query = {"deployment": deployment}
        self._http = requests.Session()
        self._http.headers["Authorization"] = f"Camera {credential}"

    def _call(self, method: str, name: str, timeout=TRANSFER_TIMEOUT, **kwargs) -> Answer:
        try:
            response = self._http.request(
                method, self._base + name + "/", params=self._query, timeout=timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise LinkDown(f"{method} {name}: {exc}") from exc
        if response.status_code >= 500:
            raise LinkDown(f"{method} {name}: Govern answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:  # a proxy's own page
            body = {"detail": response.text.strip()[:200]}
        return Answer(response.status_code, body if isinstance(body, dict) else {"detail": body})

    def session(self) -> Answer:
        """What the agent needs to match (200), or Govern's refusal."""
        return self._call("GET", "session")

    def status(self) -> Answer:
        """Whether the deployment is live, and its list's template generation."""
        return self._call("GET", "status", timeout=STATUS_TIMEOUT)

    def send(self, body: dict) -> Answer:
        """Post one batch (its body carries its idempotency key)."""
        return self._call("POST", "batches", json=body)

    def close(self) -> None:
        self._http.close()
