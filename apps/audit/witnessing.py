"""Submitting checkpoints to witnesses (c2sp.org/tlog-witness) and keeping the cosignatures they return.

Each witness is configured by name, verifier key (type 0x04) and submission URL (AUDIT_WITNESSES). The latest
checkpoint goes to every witness that has not cosigned it, with the consistency proof from the size that witness last
cosigned (as far as this log knows; a 409 tells the size it really holds, and the submission is made once more from
there). Every answer is an event in the log (`audit.checkpoint_witnessed`), a cosignature is stored only once it
verifies against the witness's configured key, and a witness that cannot be reached is retried (the task's backoff).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Max

from . import notes, proofs, services, signing
from .choices import CHECKPOINT_WITNESSED, WitnessOutcome
from .models import Checkpoint, Cosignature

SIZE_CONTENT_TYPE = "text/x.tlog.size"
MAX_ANSWER_LOGGED = 2000  # characters of a witness's answer kept in the event: enough for any refusal's reason


class WitnessUnreachable(Exception):
    """At least one witness gave no answer (or a 5xx): the submission is retried later."""


@dataclass(frozen=True)
class Witness:
    """A configured witness: its name, its cosigner key and where it takes submissions."""

    name: str
    key: notes.VerifierKey
    url: str

    @property
    def add_checkpoint_url(self) -> str:
        return f"{self.url}/add-checkpoint"


@dataclass(frozen=True)
class Answer:
    """What one submission came to."""

    witness: str
    outcome: str
    status: int | None
    old_size: int
    detail: str


def configured() -> list[Witness]:
    """The witnesses in AUDIT_WITNESSES, in their order."""
    return [
        Witness(entry["name"], notes.VerifierKey.parse(entry["verifier_key"]), entry["url"])
        for entry in settings.AUDIT_WITNESSES
    ]


def quorum() -> int:
    """How many witnesses' valid cosignatures a checkpoint needs (AUDIT_WITNESS_QUORUM)."""
    return settings.AUDIT_WITNESS_QUORUM


def _cosigned_size(witness: Witness, below: int) -> int:
    """The largest tree size up to `below` this witness is known here to have cosigned (0 if none)."""
    found = Cosignature.objects.filter(
        witness=witness.name, key_hash=witness.key.key_hash.hex(), checkpoint__tree_size__lte=below
    ).aggregate(size=Max("checkpoint__tree_size"))
    return found["size"] or 0


def request_body(note: str, old_size: int, new_size: int) -> str:
    """An add-checkpoint body: the old size, the consistency proof from it, a blank line and the checkpoint note."""
    proof = [] if old_size in (0, new_size) else proofs.consistency(old_size, new_size).proof
    return f"old {old_size}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + "\n" + note


def _post(session: requests.Session, witness: Witness, body: str) -> requests.Response:
    try:
        answer = session.post(
            witness.add_checkpoint_url,
            data=body.encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=settings.AUDIT_WITNESS_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise WitnessUnreachable(f"{witness.name} at {witness.url}: {exc}") from None
    if answer.status_code >= 500:
        raise WitnessUnreachable(f"{witness.name} answered {answer.status_code}: {answer.text[:200]}")
    return answer


def submit(checkpoint: Checkpoint, note: str, witness: Witness, session: requests.Session) -> Answer:
    """Ask one witness to cosign this checkpoint; the answer is logged, and a valid cosignature stored."""
    size = checkpoint.tree_size
    old = _cosigned_size(witness, size)
    try:
        answer = _post(session, witness, request_body(note, old, size))
        if answer.status_code == 409 and answer.headers.get("Content-Type", "").startswith(SIZE_CONTENT_TYPE):
            held = answer.text.strip()
            held_size = int(held) if held.isdigit() else -1
            if 0 <= held_size <= size and held_size != old:
                old = held_size  # the witness holds another of our checkpoints: prove from that one
                answer = _post(session, witness, request_body(note, old, size))
    except WitnessUnreachable as exc:
        return _record(checkpoint, witness, WitnessOutcome.UNREACHABLE, None, old, str(exc))
    status, text = answer.status_code, answer.text
    if status == 200:
        return _store(checkpoint, note, witness, old, text)
    if status == 409 and answer.headers.get("Content-Type", "").startswith(SIZE_CONTENT_TYPE):
        held = text.strip()
        if held.isdigit() and size < int(held) <= services.tree_size():
            return _record(checkpoint, witness, WitnessOutcome.SUPERSEDED, status, old, f"it holds size {held}")
        # A size this log never reached (or no size at all): the witness holds a checkpoint of a tree this log's
        # records do not have. Either the log's key signed another history, or the witness is wrong: a refusal.
        text = f"the witness holds size {held}, which this log's checkpoints do not explain"
    return _record(checkpoint, witness, WitnessOutcome.REFUSED, status, old, text)


def _store(checkpoint: Checkpoint, note: str, witness: Witness, old: int, text: str) -> Answer:
    """Keep the witness's cosignature, if it sent a valid one; a 200 without one is a refusal in effect."""
    try:
        lines = notes.signature_lines(text)
    except notes.NoteError as exc:
        return _record(checkpoint, witness, WitnessOutcome.REFUSED, 200, old, f"an unreadable answer: {exc}")
    signed = notes.parse(note).text
    valid = [
        line
        for line in lines
        if (line.name, line.key_hash) == (witness.name, witness.key.key_hash)
        and witness.key.verify(signed, line.signature)
    ]
    if not valid:
        return _record(checkpoint, witness, WitnessOutcome.REFUSED, 200, old, f"no valid cosignature in {text!r}")
    line = valid[0]
    with transaction.atomic():
        Cosignature.objects.get_or_create(
            checkpoint=checkpoint,
            witness=witness.name,
            key_hash=witness.key.key_hash.hex(),
            defaults={"cosigned_at": notes.cosignature_time(line.signature), "line": line.line().rstrip("\n")},
        )
        return _record(checkpoint, witness, WitnessOutcome.COSIGNED, 200, old, line.line().rstrip("\n"))


def _record(checkpoint: Checkpoint, witness: Witness, outcome: str, status: int | None, old: int, detail: str):
    """Log the submission and its answer (in the caller's transaction, if any)."""
    detail = detail[:MAX_ANSWER_LOGGED]
    services.record(
        CHECKPOINT_WITNESSED,
        ("audit.checkpoint", str(checkpoint.tree_size)),
        None,
        data={
            "witness": witness.name,
            "verifier_key": str(witness.key),
            "url": witness.url,
            "tree_size": checkpoint.tree_size,
            "old_size": old,
            "outcome": outcome,
            "status": status,
            "answer": detail,
        },
    )
    return Answer(witness.name, outcome, status, old, detail)


def witness_latest() -> list[Answer]:
    """Submit the latest checkpoint to every configured witness that has not cosigned it; WitnessUnreachable (after
    trying every witness) when one could not be reached, so the caller retries."""
    witnesses = configured()
    checkpoint = Checkpoint.objects.order_by("-tree_size").first()
    if not witnesses or checkpoint is None:
        return []
    note = services.checkpoint_note(checkpoint, signing.public_key_for(checkpoint.key_id))
    if note is None:
        return []  # a checkpoint of the first format is no C2SP note: no witness can read it
    done = set(checkpoint.cosignatures.values_list("witness", "key_hash"))
    answers = []
    with requests.Session() as session:
        for witness in witnesses:
            if (witness.name, witness.key.key_hash.hex()) not in done:
                answers.append(submit(checkpoint, note, witness, session))
    unreachable = [answer for answer in answers if answer.outcome == WitnessOutcome.UNREACHABLE]
    if unreachable:
        raise WitnessUnreachable("; ".join(answer.detail for answer in unreachable))
    return answers


def cosigned_note(checkpoint: Checkpoint, note: str | None) -> str | None:
    """The checkpoint's note with the witnesses' cosignature lines it got appended (c2sp.org/tlog-cosignature)."""
    if note is None:
        return None
    lines = [cosignature.line for cosignature in checkpoint.cosignatures.all()]
    return note + "".join(f"{line}\n" for line in lines)
