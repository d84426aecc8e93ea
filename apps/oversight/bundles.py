"""Evidence bundles: a zip a regulator can check offline, trusting nothing but the public key.

A bundle holds a contiguous run of the log (every event from the first to the last that concerns its scope, so
a dropped event is a gap the verifier names), each event's inclusion proof in a signed checkpoint covering them
all, a consistency proof from that checkpoint to the latest, the deletion receipts, the public key, and the
verifier itself (`verify_bundle.py` and the `notes.py` it loads: the standard library plus `cryptography`).
"""

import base64
import contextlib
import datetime
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from apps.audit import merkle, proofs, signing, verification, witnessing
from apps.audit import services as audit
from apps.audit.choices import CHECKPOINT_WITNESSED, REDACTED_PREFIX, WitnessOutcome
from apps.audit.models import Checkpoint, Event
from apps.deployments.models import Deployment, PublishedFigures
from apps.matching.models import DeletionReceipt
from govern import policy

from . import reconciliation

FORMAT = "govern-evidence-bundle/2"
SCOPE_FORMAT = "govern-bundle-scope/1"
# Prefixed to the signed scope statement so that its signature can never be taken for a checkpoint's.
SCOPE_CONTEXT = b"govern-bundle-scope/1\n"
VERIFIER = Path(__file__).resolve().parent.parent / "audit" / "verifier.py"
NOTES = VERIFIER.with_name("notes.py")  # C2SP signed notes: the verifier loads it from beside itself
README = """Govern evidence bundle
======================

Check it without Govern, with Python 3.10+ and the `cryptography` package only:

    python -m venv v && v/bin/pip install cryptography
    v/bin/python verify_bundle.py bundle.zip [--public-key KEY.pem] [--witness VKEY ... --quorum N]

Pass --public-key with the keys the force publishes to pin them; otherwise the bundled keys are used and the id of
the key that signed each checkpoint printed for you to compare. The key is rotated from time to time, so
public_key.pem may hold several PEM blocks: the current key first, then every earlier one. The verifier checks every
checkpoint signature, every event's inclusion proof, the consistency of the covering checkpoint with the latest,
that no event is missing or out of order, the signed scope (scope.json: where the bundle starts and ends, the
deployment and its state, which events it withholds, the final ledger), so a bundle whose head, tail or middle was
cut off fails, and, for a deployment, that faces processed = alerts + deletion receipts, as signed.

Witnesses (independent parties that cosign a checkpoint only when it extends the last one they cosigned) make a log
that shows one history to one reader and another to the next detectable. The verifier requires a quorum of valid
cosignatures on the latest checkpoint, or the covering one, and names each witness that did not cosign and why (its
answer, as the log recorded it). Pass --witness with each witness's published verifier key, and --quorum, to pin
them; otherwise the witnesses and quorum the force configured (checkpoints.json, "witnesses") are used and said so.

Files: manifest.json (scope, sequence range, file hashes), scope.json (the signed scope statement), events.jsonl
(each event's canonical JSON, exactly as hashed; an event of another matter inside the range is its leaf hash
only, marked "withheld"), proofs.json (each event's audit path, as [seq, hash numbers...] into one table of hashes),
checkpoints.json (each checkpoint also as its C2SP signed note, "note", when it is one, followed by the witnesses'
cosignature lines; "witness_answers": why each other witness did not cosign; "witnesses": keys and quorum),
receipts.jsonl, public_key.pem, verify_bundle.py, notes.py (C2SP signed notes: the verifier loads it, so keep the two
side by side).
"""


class BundleError(ValueError):
    """The bundle's scope has nothing to prove, or the log cannot prove it."""


@dataclass(frozen=True)
class Scope:
    """What a bundle covers: one deployment, or a time range."""

    deployment: Deployment | None = None
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None

    def describe(self) -> dict:
        if self.deployment is not None:
            return {"kind": "deployment", "deployment": self.deployment.pk, "reference": self.deployment.reference}
        return {"kind": "range", "start": audit.format_time(self.start), "end": audit.format_time(self.end)}

    def filename(self) -> str:
        if self.deployment is not None:
            return f"govern-bundle-{self.deployment.reference}.zip"
        return f"govern-bundle-{self.start:%Y%m%d%H%M}-{self.end:%Y%m%d%H%M}.zip"


# The events that concern a deployment: its own, its captures' (frames, deletions) and its alerts' (raised, judged,
# engaged, stopped). Everything else inside its range is another matter.
_DEPLOYMENT_EVENTS = """
    SELECT seq FROM audit_event WHERE target_type = 'deployments.deployment' AND target_id = %(id)s
    UNION ALL
    SELECT e.seq FROM audit_event e JOIN matching_capture c
        ON e.target_type = 'matching.capture' AND e.target_id = c.id::text WHERE c.deployment_id = %(pk)s
    UNION ALL
    SELECT e.seq FROM audit_event e JOIN matching_alert a
        ON e.target_type = 'matching.alert' AND e.target_id = a.id::text WHERE a.deployment_id = %(pk)s
"""
_DEPLOYMENT_RANGE = f"SELECT min(seq), max(seq) FROM ({_DEPLOYMENT_EVENTS}) AS concerned"  # noqa: S608 (fixed text)


def seq_range(scope: Scope) -> tuple[int, int]:
    """The first and last event of the scope (inclusive)."""
    with connection.cursor() as cursor:
        if scope.deployment is not None:
            cursor.execute(_DEPLOYMENT_RANGE, {"id": str(scope.deployment.pk), "pk": scope.deployment.pk})
        else:
            cursor.execute(
                "SELECT min(seq), max(seq) FROM audit_event WHERE created_at >= %s AND created_at < %s",
                [scope.start, scope.end],
            )
        first, last = cursor.fetchone()
    if first is None:
        raise BundleError("The log holds no event in this scope.")
    return first, last


class _Nodes:
    """Tree nodes for many proofs over one run of leaves: fetched a level at a time, the rest on demand."""

    def __init__(self, leaves: dict[int, bytes], first: int, last: int, size: int, prefetch: bool = True):
        self.nodes = {(0, seq): value for seq, value in leaves.items()}
        if not prefetch:  # a few leaves far apart: their paths' nodes are fetched one by one
            return
        clauses, params = [], []
        for level in range(1, size.bit_length() + 1):
            clauses.append('(level = %s AND "index" BETWEEN %s AND %s)')
            params += [level, (first >> level) - 1, (last >> level) + 1]
        with connection.cursor() as cursor:
            # The clauses are fixed text; only the numbers are parameters.
            cursor.execute(f'SELECT level, "index", hash FROM audit_treenode WHERE {" OR ".join(clauses)}', params)  # noqa: S608
            for level, index, value in cursor.fetchall():
                self.nodes[(level, index)] = bytes(value)

    def __call__(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self.nodes:
            with connection.cursor() as cursor:
                if level == 0:
                    cursor.execute("SELECT leaf_hash FROM audit_event WHERE seq = %s", [index])
                else:
                    cursor.execute('SELECT hash FROM audit_treenode WHERE level = %s AND "index" = %s', [level, index])
                row = cursor.fetchone()
            if row is None:
                raise BundleError(f"The log is missing tree node {key}; run `manage.py audit verify`.")
            self.nodes[key] = bytes(row[0])
        return self.nodes[key]


def _checkpoint_json(checkpoint: Checkpoint) -> dict:
    """A checkpoint for the offline verifier; one of the C2SP note format also as its signed note, as published."""
    document = {
        "tree_size": checkpoint.tree_size,
        "root_hash": bytes(checkpoint.root_hash).hex(),
        "timestamp": checkpoint.timestamp,
        "signature": base64.b64encode(bytes(checkpoint.signature)).decode(),
        "key_id": checkpoint.key_id,
    }
    note = audit.checkpoint_note(checkpoint)
    if note is not None:
        # As published: the log's note with the witnesses' cosignature lines, and why each other witness did not sign.
        document |= {"origin": checkpoint.origin, "note": witnessing.cosigned_note(checkpoint, note)}
        document["witness_answers"] = _witness_answers(checkpoint)
    return document


def _witness_answers(checkpoint: Checkpoint) -> dict[str, dict]:
    """Each witness's last answer about this checkpoint that was not a cosignature (the log's own events say it)."""
    answers = {}
    events = Event.objects.filter(
        action=CHECKPOINT_WITNESSED, target_type="audit.checkpoint", target_id=str(checkpoint.tree_size)
    ).order_by("seq")
    for event in events:
        data = event.data
        if data.get("outcome") == WitnessOutcome.COSIGNED:
            answers.pop(data.get("witness"), None)
        else:
            answers[data.get("witness")] = {key: data.get(key) for key in ("outcome", "status", "answer", "old_size")}
            answers[data.get("witness")]["seq"] = event.seq
    return answers


def witnesses_json() -> dict:
    """The witnesses the force configured and the quorum it set: what the verifier requires unless told otherwise."""
    configured = witnessing.configured()
    return {"quorum": witnessing.quorum(), "keys": [str(witness.key) for witness in configured]}


def witness_latest_now() -> None:
    """Ask the witnesses to cosign the latest checkpoint before a bundle is made of it, when it lacks the quorum (a
    checkpoint signed for the bundle has had no time to be): answers are logged; one unreachable leaves it short, which
    the verifier reports. Never inside a transaction: a witness's answer can take seconds."""
    latest = Checkpoint.objects.order_by("-tree_size").first()
    if latest is None or transaction.get_connection().in_atomic_block or not witnessing.configured():
        return
    if latest.cosignatures.count() >= witnessing.quorum():
        return
    with contextlib.suppress(witnessing.WitnessUnreachable):  # the task's retries carry on; the bundle says what it got
        witnessing.witness_latest()


def proofs_file(seqs, covering: Checkpoint, nodes: "_Nodes") -> bytes:
    """proofs.json: each event's audit path in the covering tree, its hashes written once in a shared table
    (neighbouring events share most of their paths: the file is a fifth of the size, and the verifier decodes each
    hash once)."""
    table: dict[bytes, int] = {}
    paths = []
    for seq in seqs:
        path = merkle.inclusion_proof(seq, covering.tree_size, nodes)
        paths.append([seq, *(table.setdefault(value, len(table)) for value in path)])
    document = {"tree_size": covering.tree_size, "hashes": [value.hex() for value in table], "paths": paths}
    return json.dumps(document, separators=(",", ":")).encode()


def checkpoints_file(covering: Checkpoint, latest: Checkpoint) -> bytes:
    """checkpoints.json: the covering checkpoint, the latest, and the consistency proof between them."""
    consistency = proofs.consistency(covering.tree_size, latest.tree_size)
    document = {
        "covering": _checkpoint_json(covering),
        "latest": _checkpoint_json(latest),
        "consistency": [p.hex() for p in consistency.proof],
        "witnesses": witnesses_json(),
    }
    return json.dumps(document, indent=1).encode()


def zipped(manifest: dict, files: dict[str, bytes]) -> bytes:
    """The archive: the manifest, then every file it lists."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _covering_checkpoint(last: int) -> Checkpoint:
    """The first signed checkpoint holding event `last`; one is signed now when none does yet."""
    found = Checkpoint.objects.filter(tree_size__gt=last).order_by("tree_size").first()
    return found or audit.sign_checkpoint()


def _receipts(scope: Scope, first: int, last: int) -> list[dict]:
    receipts = DeletionReceipt.objects.filter(event_seq__gte=first, event_seq__lte=last)
    if scope.deployment is not None:
        receipts = receipts.filter(deployment=scope.deployment)
    fields = ["capture_id", "deployment_id", "watchlist_hash", "best_score", "commitment", "engine", "event_seq"]
    return [
        {
            "capture": str(r["capture_id"]),
            "deployment": r["deployment_id"],
            "watchlist_hash": r["watchlist_hash"],
            "best_score": round(r["best_score"], 6),
            "commitment": r["commitment"],
            "engine": r["engine"],
            "event_seq": r["event_seq"],
        }
        for r in receipts.order_by("event_seq").values(*fields)
    ]


def _concerned(scope: Scope) -> set[int] | None:
    """The sequence numbers of the events that concern a deployment (None for a time range: every event does)."""
    if scope.deployment is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_DEPLOYMENT_EVENTS, {"id": str(scope.deployment.pk), "pk": scope.deployment.pk})
        return {seq for (seq,) in cursor.fetchall()}


def _withheld_line(seq: int, leaf: bytes, why: str = "another matter") -> str:
    """Another matter's event inside the range, or one redacted under retention: its leaf hash only, enough to check
    the tree and nothing more."""
    return json.dumps({"seq": seq, "withheld": why, "leaf_hash": leaf.hex()}, separators=(",", ":"))


def withheld_digest(seqs: list[int]) -> str:
    """The SHA-256 of the withheld events' sequence numbers, comma-separated in order (as the verifier computes it)."""
    return hashlib.sha256(",".join(map(str, seqs)).encode()).hexdigest()


FIGURES = ("faces_processed", "alerts", "true_alerts", "false_alerts", "engagements", "arrests", "other_outcomes")


def _published(scope: Scope) -> dict | None:
    """A deployment's published figures as they stand (None for a range, or before any are published)."""
    if scope.deployment is None:
        return None
    figures = PublishedFigures.objects.filter(deployment=scope.deployment).values(*FIGURES).first()
    return dict(figures) if figures else None


def _signed_scope(statement: dict) -> dict:
    """The scope statement with the log's signature: where the bundle starts and ends, what it withholds, the final
    ledger. A bundle cut short, or with events turned into hashes, no longer matches what was signed."""
    message = SCOPE_CONTEXT + json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    signature = base64.b64encode(signing.sign(message)).decode()
    return {"statement": statement, "key_id": signing.key_id(), "signature": signature}


def _latest(events, wanted) -> Event | None:
    """The newest of these events whose data `wanted` accepts."""
    for event in events.order_by("-seq"):
        if wanted(event.data):
            return event
    return None


def _engine_of(data: dict) -> tuple:
    return data.get("engine"), data.get("weights_sha256")


def decisions(deployment: Deployment) -> list[Event]:
    """The decisions a deployment ran under, as logged: its authorisation, the approval of the watchlist version it
    was authorised with, the countersigned threshold it ran at (none when it is the configured default), and the
    approval of each engine that processed its faces."""
    found = []
    authorised = _latest(
        Event.objects.filter(
            action="deployment.authorise", target_type="deployments.deployment", target_id=str(deployment.pk)
        ),
        lambda data: True,
    )
    if deployment.watchlist_id is not None:
        approvals = Event.objects.filter(
            action="watchlist.approve", target_type="watchlists.watchlist", target_id=str(deployment.watchlist_id)
        )
        found.append(_latest(approvals, lambda data: data.get("content_hash") == deployment.authorised_watchlist_hash))
    threshold = str(deployment.threshold)
    countersigned = Event.objects.filter(action="governance.countersigned")
    if authorised is not None:
        countersigned = countersigned.filter(seq__lt=authorised.seq)
    found.append(
        _latest(countersigned, lambda data: data.get("kind") == "threshold" and data.get("threshold") == threshold)
    )
    # The engines by name and weights: an approval of the same name with other weights is another engine.
    engines = set(DeletionReceipt.objects.filter(deployment=deployment).values_list("engine", "weights_sha256"))
    engines |= set(deployment.alerts.values_list("engine", "weights_sha256"))
    approvals = Event.objects.filter(action="engine.approve")
    for engine, weights in sorted(engines):
        found.append(_latest(approvals, lambda data, used=(engine, weights): _engine_of(data) == used))
    found.append(authorised)
    return sorted((event for event in found if event is not None), key=lambda event: event.seq)


def build(actor, scope: Scope) -> tuple[bytes, dict]:
    """The bundle's bytes and its manifest; the export is logged (a disclosure) before the bytes leave."""
    policy.require(actor, "oversight.export_bundle")
    first, last = seq_range(scope)
    covering = _covering_checkpoint(last)
    witness_latest_now()
    latest = Checkpoint.objects.order_by("-tree_size").first()
    rows = list(
        Event.objects.filter(seq__gte=first, seq__lte=last).order_by("seq").values_list("seq", "canonical", "leaf_hash")
    )
    if [seq for seq, _, _ in rows] != list(range(first, last + 1)):
        raise BundleError("The log has a gap in this range; run `manage.py audit verify`.")
    leaves = {seq: bytes(leaf) for seq, _, leaf in rows}
    nodes = _Nodes(leaves, first, last, covering.tree_size)
    # The decisions it ran under: whole wherever they are; those before the range travel beside it with their proofs.
    ruled = decisions(scope.deployment) if scope.deployment is not None else []
    earlier = [event for event in ruled if not first <= event.seq <= last]
    concerned = _concerned(scope)
    if concerned is not None:
        concerned |= {event.seq for event in ruled}
    redacted = {seq for seq, canonical, _ in rows if canonical.startswith(REDACTED_PREFIX)}
    if redacted and (forged := verification.tombstone_problems(first, last)):
        raise BundleError(f"The log does not verify ({forged[0]}); run `manage.py audit verify`.")
    withheld = [seq for seq, _, _ in rows if seq in redacted or (concerned is not None and seq not in concerned)]
    lines = [
        _withheld_line(seq, leaves[seq], "redacted under retention")
        if seq in redacted
        else (canonical if concerned is None or seq in concerned else _withheld_line(seq, leaves[seq]))
        for seq, canonical, _ in rows
    ]
    ledger = None
    if scope.deployment is not None:
        counted = reconciliation.ledgers(Deployment.objects.filter(pk=scope.deployment.pk))[0]
        ledger = {
            "faces": counted.faces,
            "tracks": counted.tracks,
            "alerts": counted.alerts,
            "sightings": counted.sightings,
            "receipts": counted.receipts,
        }
    statement = {
        "format": SCOPE_FORMAT,
        "scope": scope.describe(),
        "first_seq": first,
        "first_leaf_hash": leaves[first].hex(),
        "last_seq": last,
        "last_leaf_hash": leaves[last].hex(),
        "events": len(rows),
        "withheld": len(withheld),
        "withheld_sha256": withheld_digest(withheld),
        "ledger": ledger,
        "published": _published(scope),
        "decisions": [
            {"seq": event.seq, "action": event.action, "leaf_hash": bytes(event.leaf_hash).hex()} for event in ruled
        ],
        "tree_size": covering.tree_size,
        "root_hash": bytes(covering.root_hash).hex(),
        "signed_at": audit.format_time(timezone.now()),
    }
    if scope.deployment is not None:
        statement["scope"]["state"] = Deployment.objects.values_list("state", flat=True).get(pk=scope.deployment.pk)
    signed_scope = _signed_scope(statement)
    files = {
        "scope.json": json.dumps(signed_scope, indent=1, sort_keys=True).encode(),
        "events.jsonl": ("\n".join(lines) + "\n").encode(),
        "decisions.jsonl": "".join(event.canonical + "\n" for event in earlier).encode(),
        "proofs.json": proofs_file([event.seq for event in earlier] + [seq for seq, _, _ in rows], covering, nodes),
        "receipts.jsonl": "".join(json.dumps(r, sort_keys=True) + "\n" for r in _receipts(scope, first, last)).encode(),
        "checkpoints.json": checkpoints_file(covering, latest),
        "public_key.pem": signing.public_keys_pem().encode(),  # the key history: a checkpoint may predate a rotation
        "verify_bundle.py": VERIFIER.read_bytes(),
        "notes.py": NOTES.read_bytes(),
        "README.txt": README.encode(),
    }
    manifest = {
        "format": FORMAT,
        "scope": scope.describe(),
        "created_at": audit.format_time(timezone.now()),
        "created_by": actor.get_username(),
        "first_seq": first,
        "last_seq": last,
        "events": len(rows),
        "key_id": signing.key_id(),
        "key_ids": list(signing.public_keys()),
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
    }
    if ledger is not None:
        manifest["ledger"] = ledger
    with transaction.atomic():
        target = scope.deployment if scope.deployment is not None else ("audit.event", f"{first}-{last}")
        audit.record(
            "bundle.exported",
            target,
            actor,
            data={
                "scope": manifest["scope"],
                "first_seq": first,
                "last_seq": last,
                "checkpoint": covering.tree_size,
                "withheld": len(withheld),
                "scope_sha256": hashlib.sha256(files["scope.json"]).hexdigest(),
            },
            reason="Evidence bundle for an oversight body",
        )
    return zipped(manifest, files), manifest
