"""A transparency log witness (c2sp.org/tlog-witness): cosigns a log's checkpoint only when it is consistent with the
last one it cosigned for that log, and remembers that one durably, across restarts.

A regulator or a neighbouring force runs it, not the force whose log it witnesses, so it imports no Django and no
Govern code but its two Django-free neighbours, notes.py (signed notes, checkpoints, cosignatures) and verifier.py
(RFC 6962 consistency proofs): the same code the offline verifier and the monitor check with. Take the three files and
run it with the standard library and ``cryptography``:

    python witness.py keygen --name witness.regulator.example/w1 --key witness-key.pem   # prints its verifier key
    python witness.py serve --name witness.regulator.example/w1 --key witness-key.pem --state state.json \\
        --log 'govern.example-police.uk/audit+1a2b3c4d+AQ...' --listen 0.0.0.0:8080

(from a Govern checkout, ``python -m apps.audit.witness ...``). It answers ``POST /add-checkpoint``: an ``old <size>``
line, the consistency proof's hashes in base64 one a line, a blank line, then the checkpoint note. Answers, as the
spec has them: 200 with the cosignature line; 400 a malformed request or an old size above the checkpoint's; 403 no
signature by a key configured for the origin; 404 an origin it does not witness; 409 an old size that is not the size
it last cosigned (the body is that size, ``text/x.tlog.size``) or a tree of that size with another root; 422 a
consistency proof that does not verify.

The state file holds, per origin, the size, root and note it last cosigned; it is replaced atomically (written beside,
fsynced, renamed, the directory fsynced) under a lock held from reading it to replacing it, so no two requests, nor two
processes on one file, can roll it back. A validly signed checkpoint that it refuses as inconsistent (a 422, or a 409
for another root at the same size) is proof the log forked: it is kept in the evidence directory beside the state.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

if __package__:
    from . import notes, verifier
else:  # run as a script beside verifier.py and notes.py, found by path (as the offline verifier finds notes.py)
    import importlib.util

    _spec = importlib.util.spec_from_file_location("verifier", Path(__file__).resolve().with_name("verifier.py"))
    if _spec is None or not Path(_spec.origin or "").is_file():
        sys.exit("verifier.py and notes.py must lie beside the witness: take the three files together.")
    verifier = importlib.util.module_from_spec(_spec)
    sys.modules["verifier"] = verifier
    _spec.loader.exec_module(verifier)
    notes = verifier.notes

STATE_FORMAT = "govern-witness-state/1"
MAX_BODY = 64 * 1024
MAX_PROOF_LINES = 63  # the spec's bound: a consistency proof of a tree below 2**64 has at most 63 hashes
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_OLD = re.compile(r"old (0|[1-9][0-9]{0,19})")


class Refusal(Exception):
    """The witness does not cosign: the HTTP status the spec gives, what to say, and whether the request is evidence of
    a forked log (a checkpoint the log signed that contradicts one the witness cosigned)."""

    def __init__(self, status: int, message: str, *, evidence: bool = False, content_type: str = "text/plain") -> None:
        super().__init__(message)
        self.status, self.message, self.evidence, self.content_type = status, message, evidence, content_type


@dataclass(frozen=True)
class Submission:
    """An add-checkpoint request read apart: the old size, the proof, and the checkpoint note."""

    old_size: int
    proof: list[bytes]
    note: notes.Note
    checkpoint: notes.Checkpoint


def parse_submission(body: bytes) -> Submission:
    """Read an add-checkpoint body; Refusal 400 when it is not one (or 404 when its origin cannot even be read)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "the request is not UTF-8") from None
    head, blank, checkpoint_note = text.partition("\n\n")
    lines = head.split("\n")
    if not blank or not lines or not _OLD.fullmatch(lines[0]):
        raise Refusal(400, "the request is 'old <size>', the proof's lines, a blank line, then the checkpoint")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise Refusal(400, f"a consistency proof has at most {MAX_PROOF_LINES} lines")
    proof = []
    for line in lines[1:]:
        try:
            value = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            value = b""
        if len(value) != 32:
            raise Refusal(400, f"{line!r} is not a base64 SHA-256 hash")
        proof.append(value)
    try:
        note = notes.parse(checkpoint_note)
        checkpoint = notes.Checkpoint.parse(note.text)
    except notes.NoteError as exc:
        raise Refusal(400, f"the checkpoint is not a signed checkpoint note: {exc}") from None
    return Submission(int(lines[0][4:]), proof, note, checkpoint)


class State:
    """The last checkpoint cosigned per origin, in one JSON file replaced atomically under a lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.evidence_dir = self.path.with_name(self.path.name + ".evidence")
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def locked(self):
        """Hold the state for a read-check-write: one thread of this process, and one process, at a time."""
        with self._thread_lock, open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read(self) -> dict:
        """Every log's last cosigned checkpoint, by origin: {"size", "root" (base64), "note", "cosigned_at"}."""
        try:
            document = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        if document.get("format") != STATE_FORMAT:
            raise RuntimeError(f"{self.path} is not a witness state file ({STATE_FORMAT})")
        return document["logs"]

    def write(self, logs: dict) -> None:
        """Replace the state with these logs, durably: nothing is answered before this returns."""
        _write_atomically(self.path, json.dumps({"format": STATE_FORMAT, "logs": logs}, indent=1, sort_keys=True))

    def keep_evidence(self, body: bytes, refusal: Refusal) -> Path:
        """Keep a refused, validly signed request as it came, with why it was refused."""
        self.evidence_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(body).hexdigest()[:16]
        path = self.evidence_dir / f"{int(time.time())}-{refusal.status}-{digest}.txt"
        _write_atomically(path, f"# refused {refusal.status}: {refusal.message}\n" + body.decode("utf-8"))
        return path


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class Witness:
    """One witness: its name and key, the logs it witnesses (origin -> the log's verifier keys) and its state."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey, logs: dict[str, list], state: State) -> None:
        self.name = notes.check_name(name)
        self.private_key = private_key
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.verifier_key = notes.VerifierKey.of(name, raw, notes.ALGORITHM_COSIGNATURE_V1)
        self.logs = logs
        self.state = state

    def add_checkpoint(self, body: bytes) -> str:
        """Cosign the submitted checkpoint and return the cosignature line; Refusal saying why not."""
        submission = parse_submission(body)
        checkpoint = submission.checkpoint
        keys = self.logs.get(checkpoint.origin)
        if keys is None:
            raise Refusal(404, f"this witness does not witness the log {checkpoint.origin!r}")
        if not submission.note.verified_by(keys):
            raise Refusal(403, f"no signature by a key of {checkpoint.origin} this witness trusts verifies")
        if submission.old_size > checkpoint.size:
            raise Refusal(400, f"the old size {submission.old_size} is above the checkpoint's {checkpoint.size}")
        with self.state.locked():
            logs = self.state.read()
            known = logs.get(checkpoint.origin)
            known_size = known["size"] if known else 0
            if submission.old_size != known_size:
                raise Refusal(409, f"{known_size}\n", content_type=SIZE_CONTENT_TYPE)
            self._check_consistency(submission, known)
            timestamp = int(time.time())
            signature = self.private_key.sign(notes.cosignature_message(submission.note.text, timestamp))
            logs[checkpoint.origin] = {
                "size": checkpoint.size,
                "root": base64.b64encode(checkpoint.root_hash).decode(),
                "note": str(submission.note),
                "cosigned_at": timestamp,
            }
            self.state.write(logs)  # persisted before the answer: a cosignature it does not remember is never given
        raw = self.verifier_key.public_key
        return notes.cosignature(self.name, raw, timestamp, signature).line()

    @staticmethod
    def _check_consistency(submission: Submission, known: dict | None) -> None:
        checkpoint, proof = submission.checkpoint, submission.proof
        if known is None:
            if proof:
                raise Refusal(422, "the proof from size 0 must be empty", evidence=True)
            return
        known_root = base64.b64decode(known["root"])
        if checkpoint.size == known["size"]:
            if checkpoint.root_hash != known_root:
                raise Refusal(
                    409,
                    f"this witness cosigned size {known['size']} with root {known['root']}, not "
                    f"{base64.b64encode(checkpoint.root_hash).decode()}: the log has forked",
                    evidence=True,
                )
            if proof:
                raise Refusal(422, "the proof between equal sizes must be empty", evidence=True)
            return
        if not verifier.verify_consistency(known["size"], checkpoint.size, known_root, checkpoint.root_hash, proof):
            raise Refusal(
                422,
                f"the consistency proof from the cosigned size {known['size']} (root {known['root']}) to "
                f"{checkpoint.size} does not verify: the tree is not an extension of the one cosigned",
                evidence=True,
            )


class Handler(BaseHTTPRequestHandler):
    """POST /add-checkpoint, over keep-alive HTTP/1.1."""

    protocol_version = "HTTP/1.1"
    server_version = "govern-witness/1"
    witness: Witness  # set on the subclass serve() makes

    def do_POST(self) -> None:
        """Answer an add-checkpoint request; any other path is a 404."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._answer(411, "a Content-Length is required\n")
        if not 0 <= length <= MAX_BODY:
            return self._answer(413, f"a request is at most {MAX_BODY} bytes\n", close=True)
        body = self.rfile.read(length)
        if self.path.rstrip("/").rsplit("/", 1)[-1] != "add-checkpoint":
            return self._answer(404, "this witness answers POST /add-checkpoint\n")
        try:
            answer = self.witness.add_checkpoint(body)
        except Refusal as refusal:
            if refusal.evidence:
                kept = self.witness.state.keep_evidence(body, refusal)
                self.log_message("refused %d, kept as evidence in %s: %s", refusal.status, kept, refusal.message)
            message = refusal.message if refusal.message.endswith("\n") else refusal.message + "\n"
            return self._answer(refusal.status, message, refusal.content_type)
        self._answer(200, answer)

    def do_GET(self) -> None:
        """Nothing is read here: the witness's state is its own."""
        self._answer(405, "this witness answers POST /add-checkpoint\n")

    def _answer(self, status: int, text: str, content_type: str = "text/plain", close: bool = False) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type + ("; charset=utf-8" if content_type == "text/plain" else ""))
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


def read_log_keys(values: list[str]) -> dict[str, list]:
    """The logs to witness from their verifier keys (the key's name is the log's origin); SystemExit when one is bad."""
    logs: dict[str, list] = {}
    for value in values:
        try:
            key = notes.VerifierKey.parse(value)
            notes.check_origin(key.name)
        except notes.NoteError as exc:
            raise SystemExit(f"--log {value!r}: {exc}") from None
        if key.is_cosigner:
            raise SystemExit(f"--log {value!r} is a cosigner's key (type 0x04), not a log's (0x01)")
        logs.setdefault(key.name, []).append(key)
    return logs


def load_key(path: Path) -> Ed25519PrivateKey:
    """The witness's Ed25519 private key from a PEM file; SystemExit saying what is wrong."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"--key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"--key {path} is not an Ed25519 key")
    return key


def serve(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """A server answering for this witness (not yet serving: call serve_forever)."""
    handler = type("WitnessHandler", (Handler,), {"witness": witness})
    return ThreadingHTTPServer((host, port), handler)


def main(argv: list[str] | None = None) -> int:
    """keygen: make a key and print its verifier key; serve: answer add-checkpoint until stopped."""
    parser = argparse.ArgumentParser(description="A C2SP transparency log witness (c2sp.org/tlog-witness).")
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="make the witness's Ed25519 key and print its verifier key")
    keygen.add_argument("--name", required=True, help="the witness's name, a schema-less URL")
    keygen.add_argument("--key", required=True, type=Path, help="the PEM file to create (never overwritten)")
    run = commands.add_parser("serve", help="answer POST /add-checkpoint")
    run.add_argument("--name", required=True, help="the witness's name, as in its verifier key")
    run.add_argument("--key", required=True, type=Path, help="the witness's Ed25519 private key (PEM)")
    run.add_argument("--state", required=True, type=Path, help="the state file (created on first cosignature)")
    run.add_argument("--log", action="append", required=True, help="a witnessed log's verifier key (repeatable)")
    run.add_argument("--listen", default="127.0.0.1:8080", help="host:port (port 0: any free port, printed)")
    args = parser.parse_args(argv)
    if args.command == "keygen":
        notes.check_name(args.name)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            descriptor = os.open(args.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise SystemExit(f"{args.key} exists: a witness's key is never replaced in place") from None
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        print(Witness(args.name, load_key(args.key), {}, State(Path(os.devnull))).verifier_key)
        return 0
    host, _, port = args.listen.rpartition(":")
    witness = Witness(args.name, load_key(args.key), read_log_keys(args.log), State(args.state))
    witness.state.read()  # a state file that is not one stops the witness before it answers anything
    server = serve(witness, host or "127.0.0.1", int(port))
    bound_host, bound_port = server.server_address[:2]
    print(f"witness {witness.verifier_key} listening on http://{bound_host}:{bound_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
