"""A court evidence export of one alert: what the camera saw, what it was matched with, the score against the threshold
and the engine, every judgement and the stop record, each as a logged event with its inclusion proof, and the
decisions the deployment ran under. The same offline verifier checks it (`verify_bundle.py export.zip`).

Producing one discloses the probe and the reference image: it needs a reason, and is logged before the bytes leave.
"""

import hashlib
import json

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit import services as audit
from apps.audit import signing
from apps.audit.access import valid_reason
from apps.audit.models import Checkpoint, Event
from apps.matching.models import Alert
from apps.watchlists.models import CustodyImage, Review
from govern import encryption, policy

from .bundles import (
    NOTES,
    VERIFIER,
    BundleError,
    _covering_checkpoint,
    _Nodes,
    _signed_scope,
    checkpoints_file,
    decisions,
    proofs_file,
    witness_latest_now,
    zipped,
)

FORMAT = "govern-court-export/1"
README = """Govern court evidence export
============================

One alert, checked offline as an evidence bundle is, with Python 3.10+ and the `cryptography` package only:

    python -m venv v && v/bin/pip install cryptography
    v/bin/python verify_bundle.py export.zip [--public-key KEY.pem]

Pass --public-key with the keys the force publishes to pin them. The verifier checks the checkpoints' signatures,
the signed statement (scope.json: the alert's events and the images' hashes), each event's inclusion proof, the
probe's SHA-256 against the one logged when the alert was raised, the score against the threshold, and prints the
judgements, the stop record and the decisions the deployment ran under.

Files: manifest.json, alert.json (the alert as recorded), probe.jpg (what the camera saw), reference.jpg (the
custody image the authorised version of the list held for the subject, while it is kept), events.jsonl (each
event's canonical JSON, exactly as hashed), proofs.json, checkpoints.json, scope.json, public_key.pem,
verify_bundle.py, notes.py (C2SP signed notes: the verifier loads it, so keep the two side by side).
"""


def _alert_record(alert: Alert) -> dict:
    """The alert as recorded, for the court; not the other candidates (other listed people)."""
    return {
        "id": alert.pk,
        "deployment": alert.deployment_id,
        "reference": alert.deployment.reference,
        "capture": str(alert.capture_id),
        "created_at": audit.format_time(alert.created_at),
        "score": round(alert.score, 6),
        "threshold": str(alert.threshold),
        "engine": alert.engine,
        "weights_sha256": alert.weights_sha256,
        "watchlist_hash": alert.watchlist_hash,
        "probe_sha256": alert.probe_sha256,
        "state": alert.state,
        "adjudicated_by": alert.adjudicated_by.get_username() if alert.adjudicated_by else None,
        "adjudicated_at": audit.format_time(alert.adjudicated_at) if alert.adjudicated_at else None,
        "adjudication_reason": alert.adjudication_reason,
        "engaged_at": audit.format_time(alert.engaged_at) if alert.engaged_at else None,
        "outcome": alert.outcome,
        "identity_check": alert.identity_check,
        "stop_minutes": alert.stop_minutes,
        "complaint_reference": alert.complaint_reference,
        "perceived": {
            "sex": alert.perceived_sex,
            "age": alert.perceived_age,
            "ethnicity": alert.perceived_ethnicity,
        },
    }


def matched_image(alert: Alert) -> CustodyImage | None:
    """The custody image the alert was matched against: the one the authorised version of the list held for the
    subject (its approval's snapshot), not whatever the entry holds now; None once that record or image is gone."""
    review = Review.objects.filter(
        watchlist_id=alert.deployment.watchlist_id, content_hash=alert.watchlist_hash
    ).first()
    if review is None:
        return None
    entries = review.snapshot.get("entries", [])
    listed = next((item for item in entries if item.get("subject") == alert.subject_id), None)
    if listed is None:
        return None
    return CustodyImage.objects.filter(pk=listed.get("image"), sha256=listed.get("image_sha256")).first()


def _events(alert: Alert) -> list[Event]:
    """The alert's own events, its frame's, and the decisions its deployment ran under."""
    own = Event.objects.filter(target_type="matching.alert", target_id=str(alert.pk))
    frame = Event.objects.filter(
        action="capture.processed", target_type="matching.capture", target_id=str(alert.capture_id)
    )
    found = {event.seq: event for event in [*own, *frame, *decisions(alert.deployment)]}
    return [found[seq] for seq in sorted(found)]


def filename(alert: Alert) -> str:
    """The export's download name."""
    return f"govern-court-export-alert-{alert.pk}.zip"


def build(actor, alert: Alert, reason: str) -> tuple[bytes, dict]:
    """The export's bytes and its manifest; logged with the reason before the images are decrypted."""
    policy.require(actor, "oversight.export_court_evidence")
    policy.require(actor, "matching.view_alert", alert)
    if not valid_reason(reason):
        raise ValidationError({"reason": "Say why the evidence is produced (the court, the case reference)."})
    alert = Alert.objects.select_related("deployment", "adjudicated_by", "capture").get(pk=alert.pk)
    if alert.probe_deleted_at is not None:
        raise BundleError("This alert's probe was deleted under the retention policy: there is nothing to produce.")
    with transaction.atomic():  # a consultation of the alert and its images, logged before they are decrypted
        audit.record_access(
            alert,
            actor,
            reason,
            data={"deployment": alert.deployment_id, "export": "court", "images": ["probe", "reference"]},
        )
    events = _events(alert)
    covering = _covering_checkpoint(max(event.seq for event in events))
    witness_latest_now()
    latest = Checkpoint.objects.order_by("-tree_size").first()
    leaves = {event.seq: bytes(event.leaf_hash) for event in events}
    nodes = _Nodes(leaves, min(leaves), max(leaves), covering.tree_size, prefetch=False)
    probe = encryption.decrypt(bytes(alert.probe_ciphertext), associated_data=alert.associated_data())
    image = matched_image(alert)
    reference = encryption.decrypt(bytes(image.ciphertext), associated_data=image.associated_data()) if image else None
    record = json.dumps(_alert_record(alert), indent=1, sort_keys=True).encode()
    signed_files = {"alert.json": record, "probe.jpg": probe}
    if reference is not None:
        signed_files["reference.jpg"] = reference
    statement = {
        "format": FORMAT,
        "alert": alert.pk,
        "deployment": alert.deployment_id,
        "reference": alert.deployment.reference,
        "events": [
            {"seq": event.seq, "action": event.action, "leaf_hash": bytes(event.leaf_hash).hex()} for event in events
        ],
        "probe_sha256": hashlib.sha256(probe).hexdigest(),
        # Each file the verifier must find, with its hash: a file dropped from the manifest is still missed.
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in signed_files.items()},
        "tree_size": covering.tree_size,
        "root_hash": bytes(covering.root_hash).hex(),
        "signed_at": audit.format_time(timezone.now()),
    }
    files = {
        **signed_files,
        "scope.json": json.dumps(_signed_scope(statement), indent=1, sort_keys=True).encode(),
        "events.jsonl": "".join(event.canonical + "\n" for event in events).encode(),
        "proofs.json": proofs_file(leaves, covering, nodes),
        "checkpoints.json": checkpoints_file(covering, latest),
        "public_key.pem": signing.public_keys_pem().encode(),
        "verify_bundle.py": VERIFIER.read_bytes(),
        "notes.py": NOTES.read_bytes(),
        "README.txt": README.encode(),
    }
    manifest = {
        "format": FORMAT,
        "alert": alert.pk,
        "created_at": audit.format_time(timezone.now()),
        "created_by": actor.get_username(),
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
    }
    return zipped(manifest, files), manifest
