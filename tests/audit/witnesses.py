"""Witness processes a test starts (apps/audit/witness.py, run as its own program on a port), and a small log made by
hand whose tree a test can fork, which Govern's append-only log cannot."""

from __future__ import annotations

import base64
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from apps.audit import merkle, notes

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = [sys.executable, "-m", "apps.audit.witness"]


@dataclass
class WitnessProcess:
    """A witness program running on a port, its name, verifier key and files."""

    name: str
    key_file: Path
    state_file: Path
    logs: list[str]
    process: subprocess.Popen | None = None
    url: str = ""
    verifier_key: str = ""

    def start(self) -> WitnessProcess:
        """Start (or restart) the program on a free port, waiting for it to say where it listens."""
        if not self.key_file.exists():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "apps.audit.witness",
                    "keygen",
                    "--name",
                    self.name,
                    "--key",
                    str(self.key_file),
                ],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
        command = [
            sys.executable,
            "-m",
            "apps.audit.witness",
            "serve",
            "--name",
            self.name,
            "--key",
            str(self.key_file),
        ]
        command += ["--state", str(self.state_file), "--listen", "127.0.0.1:0"]
        for log in self.logs:
            command += ["--log", log]
        # -I would drop the checkout from the path; the program imports nothing of Django (a test checks).
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if " listening on " not in line:
            self.stop()
            raise RuntimeError(f"the witness did not start: {line!r} {self.process.stderr.read()!r}")
        self.verifier_key = line.split()[1]
        self.url = line.rsplit(" ", 1)[1].strip()
        return self

    def stop(self) -> None:
        """End the process (the state is on disk, written before each answer)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            for stream in (self.process.stdout, self.process.stderr):
                stream.close()
            self.process = None

    @property
    def evidence(self) -> list[Path]:
        """The refused requests it kept."""
        directory = self.state_file.with_name(self.state_file.name + ".evidence")
        return sorted(directory.iterdir()) if directory.exists() else []


def add_checkpoint(url: str, body: str) -> tuple[int, str, str]:
    """POST to a witness's add-checkpoint: the status, the content type and the body."""
    request = urllib.request.Request(f"{url}/add-checkpoint", data=body.encode(), method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (a local test URL)
            return answer.status, answer.headers.get_content_type(), answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers.get_content_type(), refused.read().decode()


@dataclass
class HandLog:
    """A log kept in memory: its leaves, signed checkpoints under its origin, proofs between sizes. `fork` copies it
    up to a size, so two trees of one size can differ."""

    origin: str
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    leaves: list[bytes] = field(default_factory=list)

    @property
    def verifier_key(self) -> str:
        return str(
            notes.VerifierKey.of(self.origin, self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        )

    def append(self, *entries: str) -> HandLog:
        self.leaves += [merkle.leaf_hash(entry.encode()) for entry in entries]
        return self

    def fork(self, size: int) -> HandLog:
        return HandLog(self.origin, self.key, self.leaves[:size])

    def root(self, size: int | None = None) -> bytes:
        return merkle.root_of(self.leaves[: len(self.leaves) if size is None else size])

    def checkpoint(self) -> str:
        text = notes.Checkpoint(self.origin, len(self.leaves), self.root()).text()
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return str(notes.sign(text, self.origin, raw, self.key.sign(text.encode())))

    def proof(self, old_size: int) -> list[bytes]:
        if old_size in (0, len(self.leaves)):
            return []
        return merkle.consistency_proof(
            old_size,
            len(self.leaves),
            lambda level, index: merkle.root_of(self.leaves[index << level : (index + 1) << level]),
        )

    def submission(self, old_size: int, proof: list[bytes] | None = None) -> str:
        """An add-checkpoint body for the current checkpoint from `old_size` (with its own proof unless given)."""
        lines = [base64.b64encode(h).decode() for h in (self.proof(old_size) if proof is None else proof)]
        return f"old {old_size}\n" + "".join(f"{line}\n" for line in lines) + "\n" + self.checkpoint()
