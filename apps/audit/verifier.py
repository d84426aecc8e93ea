"""Standalone verifier for Govern audit log proofs, signed checkpoints and evidence bundles.

Needs only the Python standard library and the ``cryptography`` package, so a regulator can run this file, with
the signed-note module ``notes.py`` beside it, without the Govern code base (evidence bundles carry both, this one as
``verify_bundle.py``):

    python verifier.py proof.json
    python verify_bundle.py bundle.zip [--public-key KEY.pem]
    python verifier.py monitor https://govern.example-police.uk --key <verifier key> --state monitor.json

The monitor follows a log's public checkpoint and tiles (c2sp.org/tlog-tiles): each run checks the new checkpoint's
signature, rebuilds the tree from the entries appended since the last run, extending the right edge it kept in its
state file (so a new tree that does not extend the last one, a fork, cannot pass), checks the hash tiles against it,
and exits non-zero on any problem.

proof.json holds either an inclusion proof
    {"type": "inclusion", "leaf_index", "tree_size", "leaf_hash", "audit_path": [...], "root_hash"}
or a consistency proof
    {"type": "consistency", "first", "second", "first_root", "second_root", "proof": [...]}
with hashes in hex, optionally plus a signed checkpoint of the (second) tree
    "checkpoint": {"tree_size", "root_hash", "timestamp", "signature" (base64), "public_key" (PEM), "key_id",
                   and for a C2SP signed note "origin" and "note" (the note as published)}.
Proofs follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 (RFC 6962 hashing).

A checkpoint is a C2SP signed note (c2sp.org/tlog-checkpoint: origin, size, base64 root; notes.py), its signature
over that text; one with no origin is of the first format, whose signature covers ``govern.audit.v1``, size, root and
its timestamp. Both verify.

The checkpoint key is rotated from time to time: a public key file may hold several PEM blocks (the force's key
history), and each checkpoint is checked with the key its key id names (the first 16 hex digits of the SHA-256 of
the raw public key). The log records each rotation (`audit.key_rotated`, naming the new key) in a tree the old key
signs, so the hand-over itself is verifiable.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import itertools
import json
import math
import re
import sys
import zipfile
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

if __package__:
    from . import notes
else:  # run as a script (an evidence bundle's verify_bundle.py): notes.py lies beside it, found by path for python -I
    import importlib.util
    from pathlib import Path

    _spec = importlib.util.spec_from_file_location("notes", Path(__file__).resolve().with_name("notes.py"))
    if _spec is None or not Path(_spec.origin or "").is_file():
        sys.exit("notes.py (the signed-note module) must lie beside this verifier: take both from the bundle.")
    notes = importlib.util.module_from_spec(_spec)
    sys.modules["notes"] = notes
    _spec.loader.exec_module(notes)

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
# The first checkpoint format, before the log signed C2SP notes: its body also held the time, and it named no origin.
CHECKPOINT_ORIGIN = "govern.audit.v1"


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + bytes(data)).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _proof_list(proof: object) -> list[bytes]:
    if isinstance(proof, bytes | str) or not isinstance(proof, Sequence):
        raise ValueError("proof must be a list of hashes")
    items = list(proof)
    if not all(_is_hash(p) for p in items):
        raise ValueError(f"every proof element must be {HASH_SIZE} bytes")
    return items


def root_from_inclusion_proof(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    """Return the root implied by an inclusion proof (RFC 9162 2.1.3.2); raise ValueError if it is malformed."""
    if not (_is_size(index) and _is_size(size)) or index >= size:
        raise ValueError(f"leaf index {index!r} is not inside a tree of size {size!r}")
    if not _is_hash(leaf_hash):
        raise ValueError(f"leaf hash must be {HASH_SIZE} bytes")
    fn, sn, r = index, size - 1, leaf_hash
    for p in _proof_list(proof):
        if sn == 0:
            raise ValueError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = _node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = _node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("inclusion proof is too short")
    return r


def verify_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Return True if proof shows leaf_hash at index in the tree of this size and root; never raises."""
    try:
        return _is_hash(root) and hmac.compare_digest(root_from_inclusion_proof(index, size, leaf_hash, proof), root)
    except Exception:
        return False


def _consistent(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    if not (_is_size(old_size) and _is_size(new_size)) or old_size > new_size:
        return False
    if not (_is_hash(old_root) and _is_hash(new_root)):
        return False
    path = _proof_list(proof)
    if old_size == 0:
        # Stricter than RFC 9162, which leaves this case open: the only valid root of an empty tree is SHA-256("").
        return not path and old_root == EMPTY_ROOT and (new_size > 0 or new_root == EMPTY_ROOT)
    if old_size == new_size:
        return not path and hmac.compare_digest(old_root, new_root)
    if not path:
        return False
    if old_size & (old_size - 1) == 0:
        path = [old_root, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _node_hash(c, fr)
            sr = _node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(fr, old_root) and hmac.compare_digest(sr, new_root)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Return True if proof shows the old tree is a prefix of the new one (RFC 9162 2.1.4.2); never raises."""
    try:
        return _consistent(old_size, new_size, old_root, new_root, proof)
    except Exception:
        return False


def checkpoint_message(tree_size: int, root_hash: bytes, timestamp: str) -> bytes:
    """Return the bytes a checkpoint of the first format signed (its body held its time; it named no origin)."""
    return f"{CHECKPOINT_ORIGIN}\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n{timestamp}\n".encode()


def signed_body(tree_size: int, root_hash: bytes, timestamp: str | None, origin: str = "") -> bytes:
    """What a checkpoint's signature covers: the C2SP checkpoint text of its origin, size and root; or, for a checkpoint
    of the first format (no origin), that format's body with its time."""
    if origin:
        return notes.Checkpoint(origin, tree_size, root_hash).text().encode()
    if not isinstance(timestamp, str):
        raise ValueError("a checkpoint of the first format is signed with its timestamp")
    return checkpoint_message(tree_size, root_hash, timestamp)


def _load_public_key(public_key: bytes | str) -> Ed25519PublicKey:
    if isinstance(public_key, str):
        public_key = public_key.encode()
    if len(public_key) == 32:
        return Ed25519PublicKey.from_public_bytes(public_key)
    key = load_pem_public_key(public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("public key is not an Ed25519 key")
    return key


_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def public_keys(data: bytes | str) -> dict[str, bytes]:
    """Every Ed25519 public key in one or more PEM blocks (or one raw 32-byte key), raw, by key id."""
    if isinstance(data, str):
        data = data.encode()
    blocks = [data] if len(data) == 32 else _PEM_BLOCK.findall(data)
    if not blocks:
        raise ValueError("no PEM public key found")
    keys = {}
    for block in blocks:
        raw = _load_public_key(block).public_bytes(Encoding.Raw, PublicFormat.Raw)
        keys[key_id(raw)] = raw
    return keys


def _by_key_id(keys: dict[str, bytes], checkpoint: dict) -> tuple[str, list[bytes]]:
    """The key id a checkpoint names and the keys to try: that one, or every key when it names none."""
    named = checkpoint.get("key_id")
    if named is None:
        return "/".join(keys) or "(none)", list(keys.values())
    return str(named), [keys[named]] if named in keys else []


def verify_checkpoint(
    public_key: bytes, tree_size: int, root_hash: bytes, timestamp: str | None, signature: bytes, origin: str = ""
) -> bool:
    """Return True if signature is a valid Ed25519 signature of the checkpoint (a C2SP note's text when it names an
    origin, else the first format's body with its timestamp); never raises."""
    try:
        if not (_is_size(tree_size) and _is_hash(root_hash)):
            return False
        message = signed_body(tree_size, root_hash, timestamp, origin)
        _load_public_key(public_key).verify(bytes(signature), message)
    except Exception:
        return False
    return True


def verify_checkpoint_record(public_key: bytes, checkpoint: dict, root_hash: bytes) -> bool:
    """A checkpoint as a proof file or bundle gives it (tree_size, timestamp, signature, and for the note format its
    origin and its signed note): the signature holds, and the note, when given, opens with this key under the origin's
    name and states the same tree; never raises."""
    try:
        origin = checkpoint.get("origin") or ""
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        size = checkpoint["tree_size"]
        if not verify_checkpoint(public_key, size, root_hash, checkpoint.get("timestamp"), signature, origin):
            return False
        note = checkpoint.get("note")
        if note is None:
            return True
        key = notes.VerifierKey.of(origin, _load_public_key(public_key).public_bytes(Encoding.Raw, PublicFormat.Raw))
        stated, _ = notes.open_checkpoint(note, origin, [key])
        return (stated.size, stated.root_hash) == (size, root_hash)
    except Exception:
        return False


def key_id(public_key_raw: bytes) -> str:
    """Return the first 16 hex characters of SHA-256 of the raw 32-byte Ed25519 public key."""
    if not isinstance(public_key_raw, bytes) or len(public_key_raw) != 32:
        raise ValueError("key_id needs the raw 32-byte Ed25519 public key")
    return hashlib.sha256(public_key_raw).hexdigest()[:16]


def _hex(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"expected a hex string, got {type(value).__name__}")
    return bytes.fromhex(value)


def _check_file(doc: dict) -> list[tuple[str, bool]]:
    kind = doc.get("type")
    if kind == "inclusion":
        size, root = doc["tree_size"], _hex(doc["root_hash"])
        path = [_hex(p) for p in doc["audit_path"]]
        ok = verify_inclusion(doc["leaf_index"], size, _hex(doc["leaf_hash"]), path, root)
        results = [(f"inclusion of leaf {doc['leaf_index']} in tree of size {size}", ok)]
    elif kind == "consistency":
        size, root = doc["second"], _hex(doc["second_root"])
        path = [_hex(p) for p in doc["proof"]]
        ok = verify_consistency(doc["first"], size, _hex(doc["first_root"]), root, path)
        results = [(f"consistency of tree size {doc['first']} with tree size {size}", ok)]
    else:
        raise ValueError(f"unknown proof type {kind!r}")
    checkpoint = doc.get("checkpoint")
    if checkpoint is not None:
        cp_root = checkpoint["root_hash"]
        # Checkpoints carry the root in hex like the proof, or in base64 as it appears in the signed message.
        cp_root = _hex(cp_root) if len(cp_root) == 2 * HASH_SIZE else base64.b64decode(cp_root, validate=True)
        try:
            named, candidates = _by_key_id(public_keys(checkpoint["public_key"]), checkpoint)
            label = f"checkpoint signature (key id {named}{_form(checkpoint)})"
        except Exception:
            candidates, label = [], "checkpoint signature (unreadable public key)"
        signed = any(verify_checkpoint_record(key, checkpoint, cp_root) for key in candidates)
        results.append((label, signed))
        same_tree = checkpoint["tree_size"] == size and cp_root == root
        results.append(("checkpoint names the same tree size and root", same_tree))
    return results


# --- Evidence bundles -----------------------------------------------------------------------------------------------

BUNDLE_FORMAT = "govern-evidence-bundle/2"
SCOPE_FORMAT = "govern-bundle-scope/1"
SCOPE_CONTEXT = b"govern-bundle-scope/1\n"


def _form(checkpoint: dict) -> str:
    """How a checkpoint was signed, for the report."""
    origin = checkpoint.get("origin")
    return f", a C2SP signed note of log {origin}" if origin else ", first format with its timestamp signed"


def _signed(keys: dict[str, bytes], checkpoint: dict) -> tuple[str, bool]:
    """The key id the checkpoint names, and whether that key (one of these) signed it."""
    named, candidates = _by_key_id(keys, checkpoint)
    root = _hex(checkpoint["root_hash"])
    return named, any(verify_checkpoint_record(key, checkpoint, root) for key in candidates)


def _json_objects(lines: list[bytes]) -> list:
    """Each line's JSON object, parsed in one call when every line is one object (much faster than line by line).

    Falls back to one call per line, where a line that is not an object becomes its exception, to be named.
    """
    if all(line[:1] == b"{" and line[-1:] == b"}" for line in lines):
        try:
            objects = json.loads(b"[" + b",".join(lines) + b"]")
        except ValueError:
            objects = None
        if objects is not None and len(objects) == len(lines) and all(isinstance(o, dict) for o in objects):
            return objects
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError as exc:
            parsed.append(exc)
    return parsed


def _events(lines: list[bytes], first: int, last: int) -> tuple[list[tuple[int, bytes, dict]], list[str]]:
    """Parse the events; name every missing, duplicated or misplaced sequence number."""
    problems, parsed = [], []
    for position, (line, event) in enumerate(zip(lines, _json_objects(lines), strict=True)):
        expected = first + position
        try:
            if isinstance(event, Exception):
                raise event
            seq = event["seq"]
            if not _is_size(seq):
                raise ValueError("seq is not a number")
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"event {expected}: unreadable ({exc})")
            continue
        parsed.append((seq, line, event))
    seqs = [seq for seq, _, _ in parsed]
    seen = set(seqs)
    for seq in range(first, last + 1):
        if seq not in seen:
            problems.append(f"event {seq} is missing")
    if len(seen) != len(seqs):
        duplicated = sorted({seq for seq in seqs if seqs.count(seq) > 1})
        problems.append(f"events {duplicated} appear more than once")
    for earlier, later in itertools.pairwise(seqs):
        if later < earlier:
            problems.append(f"event {later} comes after event {earlier}: the events were reordered")
    for seq in sorted(seen - set(range(first, last + 1))):
        problems.append(f"event {seq} lies outside the bundle's range {first}-{last}")
    return parsed, problems


def _lookup(table: list[bytes], numbers):
    """An audit path's hashes from the bundle's table, one by one (a bad number ends the path as a ValueError)."""
    for number in numbers:
        if not (_is_size(number) and number < len(table)):
            raise ValueError(f"hash number {number!r} is not in the table")
        yield table[number]


def verify_inclusions(size: int, root: bytes, items) -> list[int]:
    """Check many inclusion proofs against one tree at once; the indexes whose proof fails.

    Items are (index, leaf hash, audit path), the path's hashes as bytes or hex, in a list or an iterator
    (read only as far as needed). Each proof is walked as in
    RFC 9162 2.1.3.2, but a subtree hash already shown to lead to the root is remembered by its place (level, index),
    and a walk that reaches it stops there: a run of neighbouring leaves costs about two hashes each, not one per
    level, and only the hashes used are decoded.
    """
    proven: dict[tuple[int, int], bytes] = {}
    bad = []
    for index, leaf, path in items:
        if not (_is_size(index) and index < size and _is_hash(leaf)):
            bad.append(index)
            continue
        fn, sn, r, level, computed, holds = index, size - 1, leaf, 0, [], None
        try:
            for p in path:
                p = bytes.fromhex(p) if isinstance(p, str) else p
                if sn == 0 or not _is_hash(p):
                    raise ValueError("proof too long or malformed")
                if fn & 1 or fn == sn:
                    r = _node_hash(p, r)
                    while fn and not fn & 1:
                        fn, sn, level = fn >> 1, sn >> 1, level + 1
                else:
                    r = _node_hash(r, p)
                fn, sn, level = fn >> 1, sn >> 1, level + 1
                known = proven.get((level, fn))
                if known is not None:
                    holds = hmac.compare_digest(known, r)
                    break
                computed.append(((level, fn), r))
            if holds is None:
                holds = sn == 0 and hmac.compare_digest(r, root)
        except ValueError:
            holds = False
        if holds:
            proven.update(computed)
        else:
            bad.append(index)
    return bad


def _withheld(event: dict) -> bool:
    """Another matter's event inside the range, given as its leaf hash only."""
    return "withheld" in event


def _leaf_of(line: bytes, event: dict) -> bytes:
    """The leaf hash an event line stands for: its own canonical JSON hashed, or the one given for a withheld one."""
    if _withheld(event):
        value = _hex(event.get("leaf_hash"))
        if len(value) != HASH_SIZE or set(event) != {"seq", "withheld", "leaf_hash"}:
            raise ValueError("a withheld event is its seq and its leaf hash, nothing more")
        return value
    return leaf_hash(line)


def _scope_signed(keys: dict[str, bytes], document: dict) -> tuple[str, bool]:
    """The key id the scope statement names, and whether that key (one of these) signed it."""
    named, candidates = _by_key_id(keys, document)
    message = SCOPE_CONTEXT + json.dumps(document["statement"], sort_keys=True, separators=(",", ":")).encode()
    signature = base64.b64decode(document["signature"], validate=True)
    signed = False
    for key in candidates:
        try:
            _load_public_key(key).verify(signature, message)
            signed = True
        except Exception:  # noqa: S112  (a key that does not verify is simply not the signer)
            continue
    return named, signed


def _check_scope(statement: dict, manifest: dict, parsed, covering: dict) -> list[tuple[str, bool]]:
    """What the signed scope says against what the bundle holds: its ends, its withheld events, its tree."""
    results = []
    first, last = statement.get("first_seq"), statement.get("last_seq")
    if (manifest.get("first_seq"), manifest.get("last_seq")) != (first, last):
        claimed = f"{manifest.get('first_seq')}-{manifest.get('last_seq')}"
        results.append((f"the manifest's range {claimed} is the signed {first}-{last}", False))
    described = {key: value for key, value in statement.get("scope", {}).items() if key != "state"}
    if described != manifest.get("scope"):
        results.append((f"the manifest's scope {manifest.get('scope')} is the signed {described}", False))
    by_seq = {seq: (line, event) for seq, line, event in parsed}
    for end, seq in (("first", first), ("last", last)):
        held = by_seq.get(seq)
        try:
            same = held is not None and _leaf_of(*held).hex() == statement.get(f"{end}_leaf_hash")
        except ValueError:
            same = False
        if not same:
            results.append((f"the bundle's {end} event is the signed {end} event {seq} (cut off, or changed)", False))
    withheld = [seq for seq, _, event in parsed if _withheld(event)]
    digest = hashlib.sha256(",".join(map(str, withheld)).encode()).hexdigest()
    if len(withheld) != statement.get("withheld") or digest != statement.get("withheld_sha256"):
        results.append(
            (f"{len(withheld)} events withheld as leaf hashes, where the signed scope withholds "
             f"{statement.get('withheld')} (an event of the scope was turned into a hash)", False)
        )  # fmt: skip
    if len(parsed) != statement.get("events"):
        results.append(
            (f"{len(parsed)} events in the bundle, where the signed scope has {statement.get('events')}", False)
        )
    if (covering.get("tree_size"), covering.get("root_hash")) != (
        statement.get("tree_size"),
        statement.get("root_hash"),
    ):
        results.append(("the covering checkpoint is the one the signed scope names", False))
    return results


OUTCOME_FALSE = "false_after_engagement"


def _count(value: object) -> int:
    """A count from an event: a whole number of faces a frame could hold, else the bundle is refused."""
    if not _is_size(value) or value > 1_000_000:
        raise ValueError(f"{value!r} is not a count of faces")
    return value


def _figures(parsed, deployment: int) -> dict:
    """The deployment's published figures recomputed from its events: faces and alerts from the frames, true and false
    alerts, engagements and outcomes from the judgements and stop records on its alerts (the latest of each)."""
    faces, alerts, judged, engaged, outcomes = 0, set(), {}, set(), {}
    for _seq, _line, event in parsed:
        if _withheld(event):
            continue
        data, action = event.get("data") or {}, event.get("action")
        if action == "capture.processed" and data.get("deployment") == deployment:
            faces += _count(data.get("faces", 0))
        elif action == "alert.raised" and data.get("deployment") == deployment:
            alerts.add(event.get("target_id"))
    for _seq, _line, event in parsed:
        if _withheld(event) or event.get("target_id") not in alerts or event.get("target_type") != "matching.alert":
            continue
        data, action, alert = event.get("data") or {}, event.get("action"), event.get("target_id")
        if action == "alert.adjudicated":
            judged[alert] = bool(data.get("match"))
        elif action == "alert.engaged":
            engaged.add(alert)
        elif action == "alert.outcome":
            outcomes[alert] = data.get("outcome")
    false = {alert for alert, match in judged.items() if not match} | {
        alert for alert, outcome in outcomes.items() if outcome == OUTCOME_FALSE
    }
    return {
        "faces_processed": faces,
        "alerts": len(alerts),
        "true_alerts": sum(1 for alert, match in judged.items() if match and alert not in false),
        "false_alerts": len(false),
        "engagements": len(engaged),
        "arrests": sum(1 for outcome in outcomes.values() if outcome == "arrest"),
        "other_outcomes": sum(1 for outcome in outcomes.values() if outcome == "other_action"),
    }


def _decisions(statement: dict, parsed, earlier: list, failed: set) -> list[tuple[str, bool]]:
    """Each decision the signed scope names, found whole in the bundle with its signed leaf hash and a proof."""
    held = {seq: (line, event) for seq, line, event in parsed} | {seq: (line, event) for seq, line, event in earlier}
    results = []
    for decision in statement.get("decisions") or []:
        seq, action = decision.get("seq"), decision.get("action")
        line, event = held.get(seq, (None, {}))
        whole = line is not None and not _withheld(event) and event.get("action") == action
        ok = whole and leaf_hash(line).hex() == decision.get("leaf_hash") and seq not in failed
        data = event.get("data") or {}
        what = {
            "deployment.authorise": f"authorised by {event.get('actor')} with list hash {data.get('watchlist_hash')}",
            "watchlist.approve": f"list version {data.get('version')} approved by {event.get('actor')}, "
            f"hash {data.get('content_hash')}",
            "governance.countersigned": f"threshold {data.get('threshold')} (version {data.get('version')}) "
            f"countersigned by {event.get('actor')}",
            "engine.approve": f"engine {data.get('engine')} (weights {str(data.get('weights_sha256'))[:16]}) approved "
            f"by {event.get('actor')}",
        }.get(action, action)
        results.append((f"decision, event {seq}: {what}", ok))
    return results


def _ledger(parsed, receipts: list[dict], deployment: int) -> tuple[dict, list[str]]:
    """Recompute the deployment's ledger per track from its events and receipts: faces = faces in alerted tracks
    (alerts and sightings) + faces in receipted tracks, and tracks = alerted tracks + receipted tracks. A frame's
    events name no track: each of its faces is a track of one face."""
    faces = tracks = alerts = sightings = deleted = alert_faces = deleted_faces = 0
    deletions = {}
    for seq, _, event in parsed:
        data = (event.get("data") or {}) if not _withheld(event) else {}
        if data.get("deployment") != deployment:
            continue
        action = event.get("action")
        if action == "capture.processed":
            faces += _count(data.get("faces", 0))
            tracks += _count(data.get("tracks", data.get("faces", 0)))
        elif action in ("alert.raised", "alert.sighting"):
            alerts += action == "alert.raised"
            sightings += action == "alert.sighting"
            alert_faces += _count(data.get("faces", 1))
        elif action == "face.deleted":
            deleted += 1
            deleted_faces += _count(data.get("faces", 1))
            deletions[seq] = data
    problems = []
    if faces != alert_faces + deleted_faces:
        problems.append(f"faces {faces} != faces in alerted tracks {alert_faces} + in deleted tracks {deleted_faces}")
    if tracks != alerts + sightings + deleted:
        problems.append(f"tracks {tracks} != alerts {alerts} + sightings {sightings} + deletion events {deleted}")
    mine = [r for r in receipts if r.get("deployment") == deployment]
    if len(mine) != deleted:
        problems.append(f"{len(mine)} deletion receipts in the bundle for {deleted} deletion events")
    seen = set()
    for receipt in mine:
        seq = receipt.get("event_seq")
        logged = deletions.get(seq) if _is_size(seq) else None
        same = logged is not None and all(
            receipt.get(name) == logged.get(name) for name in ("commitment", "watchlist_hash", "engine", "best_score")
        )
        if not same or seq in seen:
            problems.append(f"receipt for event {seq} does not match a deletion event, or repeats one")
        seen.add(seq)
    counted = {"faces": faces, "tracks": tracks, "alerts": alerts, "sightings": sightings, "receipts": len(mine)}
    return counted, problems


def _proof_paths(contents: dict, covering: dict, results: list) -> tuple[list[bytes], dict, int, bytes]:
    """proofs.json read: its table of hashes, each event's path (by seq), and the covering tree's size and root; a
    file for another tree is noted in `results`."""
    proofs = json.loads(contents["proofs.json"])
    table = [bytes.fromhex(value) for value in proofs["hashes"]]
    paths = {entry[0]: entry[1:] for entry in proofs["paths"] if isinstance(entry, list) and entry}
    size, root = covering["tree_size"], _hex(covering["root_hash"])
    if proofs.get("tree_size") != size:
        results.append((f"the proofs are for tree size {proofs.get('tree_size')}, not checkpoint {size}", False))
    return table, paths, size, root


COURT_FORMAT = "govern-court-export/1"


def _verify_court(contents: dict, keys: dict[str, bytes], covering: dict) -> list[tuple[str, bool]]:
    """A court evidence export: the signed statement; every file it names with its signed hash; exactly its events,
    each once, in order, with their proofs; the probe's hash as logged when the alert was raised; the score against
    the threshold; and what was decided on the alert."""
    results = []
    signed_scope = json.loads(contents["scope.json"])
    statement = signed_scope["statement"]
    named, ok = _scope_signed(keys, signed_scope)
    alert = statement.get("alert")
    results.append(
        (f"the export of alert {alert} is signed by key {named}", ok and statement.get("format") == COURT_FORMAT)
    )
    if not results[-1][1]:
        return results  # nothing else in it can be trusted
    if (covering.get("tree_size"), covering.get("root_hash")) != (
        statement.get("tree_size"),
        statement.get("root_hash"),
    ):
        results.append(("the covering checkpoint is the one the signed statement names", False))
    for name, digest in sorted((statement.get("files") or {}).items()):
        held = contents.get(name)
        results.append(
            (f"{name} is the file signed for", held is not None and hashlib.sha256(held).hexdigest() == digest)
        )
    signed = [item for item in statement.get("events") or [] if isinstance(item, dict)]
    lines = [line for line in contents["events.jsonl"].split(b"\n") if line]
    parsed = [(line, event) for line, event in zip(lines, _json_objects(lines), strict=True) if isinstance(event, dict)]
    in_order = [event.get("seq") for _line, event in parsed] == [item.get("seq") for item in signed]
    results.append(
        ("events.jsonl holds exactly the signed events, each once, in order", in_order and len(parsed) == len(lines))
    )
    held = {event.get("seq"): (line, event) for line, event in parsed} if in_order else {}
    table, paths, size, root = _proof_paths(contents, covering, results)
    present = [(item["seq"], held[item["seq"]][0]) for item in signed if item.get("seq") in held]
    bad = set(
        verify_inclusions(
            size, root, ((seq, leaf_hash(line), _lookup(table, paths.get(seq, []))) for seq, line in present)
        )
    )
    proven = {}
    for item in signed:
        seq, action = item.get("seq"), item.get("action")
        line, event = held.get(seq, (None, {}))
        fine = (
            line is not None
            and event.get("action") == action
            and leaf_hash(line).hex() == item.get("leaf_hash")
            and seq not in bad
        )
        if fine:
            proven[seq] = event
        data = event.get("data") or {}
        detail = {
            "alert.adjudicated": f" ({'true match' if data.get('match') else 'false alert'} by {event.get('actor')}: "
            f"{event.get('reason')})",
            "alert.outcome": f" ({data.get('outcome')}; identity {data.get('identity_check')}, "
            f"{data.get('stop_minutes')} min)",
            "alert.engaged": f" (by {event.get('actor')})",
        }.get(action, "")
        results.append((f"event {seq} {action}{detail}: present, as signed, included in checkpoint {size}", fine))
    raisings = [event for event in proven.values() if event.get("action") == "alert.raised"]
    record = json.loads(contents["alert.json"])
    probe = hashlib.sha256(contents.get("probe.jpg", b"")).hexdigest()
    if len(raisings) != 1 or raisings[0].get("target_id") != str(alert):
        results.append(("the alert's raising is among the signed, proven events, once", False))
        return results
    logged = raisings[0].get("data") or {}
    results.append(
        (f"probe.jpg is the face logged when the alert was raised (SHA-256 {probe[:16]}…)",
         probe == logged.get("probe_sha256") == statement.get("probe_sha256"))
    )  # fmt: skip
    score, threshold = logged.get("score"), logged.get("threshold")
    try:
        above = math.isfinite(float(score)) and float(score) >= float(threshold)
    except (TypeError, ValueError, OverflowError):
        above = False
    results.append((f"score {score} at or above threshold {threshold}, engine {logged.get('engine')}", above))
    same = (
        isinstance(record, dict)
        and record.get("id") == alert
        and all(
            str(record.get(name)) == str(logged.get(name))
            for name in ("engine", "weights_sha256", "threshold", "score")
        )
    )
    results.append(("alert.json is this alert, with the score, threshold and engine logged", same))
    return results


def _witnessed(checkpoints: dict, witnesses: tuple[list[str], int, str] | None) -> tuple[str, bool]:
    """Whether a quorum of witnesses validly cosigned the latest checkpoint, or else the covering one (the latest
    contains it, as the consistency proof shows), naming each witness that did not and why (its answer, as logged)."""
    if witnesses is None:
        bundled = checkpoints.get("witnesses") or {"keys": [], "quorum": 0}
        witnesses = (bundled["keys"], bundled["quorum"], "bundled: compare with the witnesses' published keys")
    texts, quorum, source = witnesses
    keys = [notes.VerifierKey.parse(text) for text in texts]
    if any(not key.is_cosigner for key in keys):
        return ("every witness key is a cosigner's (type 0x04)", False)
    if quorum == 0:
        return (f"no witness quorum required ({source}): the checkpoints are the log's word alone", True)
    report = ""
    for name in ("latest", "covering"):
        checkpoint = checkpoints[name]
        if not checkpoint.get("note"):
            continue
        parsed = notes.parse(checkpoint["note"])
        cosigned = parsed.verified_by(keys)
        answers = checkpoint.get("witness_answers") or {}
        said = []
        for key in keys:
            if key in cosigned:
                line = next(s for s in parsed.signatures if (s.name, s.key_hash) == (key.name, key.key_hash))
                said.append(f"{key.name} cosigned at {notes.cosignature_time(line.signature)}")
            elif any((s.name, s.key_hash) == (key.name, key.key_hash) for s in parsed.signatures):
                said.append(f"{key.name}'s cosignature does not verify")
            elif key.name in answers:
                answer = answers[key.name]
                why = " ".join(str(answer.get("answer", "")).split())[:200]
                said.append(
                    f"{key.name} {answer.get('outcome')} ({answer.get('status')}: {why}, event {answer.get('seq')})"
                )
            else:
                said.append(f"{key.name} has not cosigned it")
        report = (
            f"{name} checkpoint {checkpoint['tree_size']} cosigned by {len(cosigned)} of {len(keys)} witnesses, "
            f"quorum {quorum} ({source}): {'; '.join(said)}"
        )
        if len(cosigned) >= quorum:
            return (report, True)
    return (report or f"no checkpoint in the bundle is a C2SP note a witness could cosign (quorum {quorum})", False)


def verify_bundle(
    path: str, public_key: bytes | None = None, witnesses: tuple[list[str], int, str] | None = None
) -> list[tuple[str, bool]]:
    """Check an evidence bundle; a list of (what was checked, whether it held), naming any bad event by seq.
    `witnesses` pins the witnesses' verifier keys and the quorum (else the bundle's own, labelled as such)."""
    results: list[tuple[str, bool]] = []
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        if manifest.get("format") not in (BUNDLE_FORMAT, COURT_FORMAT):
            return [(f"bundle format {manifest.get('format')!r} is {BUNDLE_FORMAT} or {COURT_FORMAT}", False)]
        contents = {name: archive.read(name) for name in manifest["files"]}
        members = set(archive.namelist()) - {"manifest.json"}
    unlisted = sorted(members - set(manifest["files"]))
    if unlisted:
        results.append((f"the zip holds only the files its manifest lists (not {', '.join(unlisted)})", False))
    for name, digest in manifest["files"].items():
        if hashlib.sha256(contents[name]).hexdigest() != digest:
            results.append((f"{name} matches the manifest's hash", False))
    keys = public_keys(public_key if public_key is not None else contents["public_key.pem"])
    pinned = "pinned with --public-key" if public_key is not None else "bundled: compare with the published keys"
    checkpoints = json.loads(contents["checkpoints.json"])
    covering, latest = checkpoints["covering"], checkpoints["latest"]
    for name, checkpoint, note in (("covering", covering, f" ({pinned})"), ("latest", latest, "")):
        named, ok = _signed(keys, checkpoint)
        if named not in keys and checkpoint.get("key_id") is not None:
            note += f" (key {named} is not among the {len(keys)} key(s) given)"
        label = f"{name} checkpoint {checkpoint['tree_size']} signed by key {named}{_form(checkpoint)}{note}"
        results.append((label, ok))
    results.append(_witnessed(checkpoints, witnesses))
    consistent = verify_consistency(
        covering["tree_size"],
        latest["tree_size"],
        _hex(covering["root_hash"]),
        _hex(latest["root_hash"]),
        [_hex(p) for p in checkpoints["consistency"]],
    )
    results.append((f"checkpoint {covering['tree_size']} is a prefix of checkpoint {latest['tree_size']}", consistent))
    if "scope.json" not in contents:
        return [*results, ("the bundle's scope is signed (scope.json)", False)]
    if manifest["format"] == COURT_FORMAT:
        return results + _verify_court(contents, keys, covering)
    signed_scope = json.loads(contents["scope.json"])
    statement = signed_scope["statement"]
    named, ok = _scope_signed(keys, signed_scope)
    scope = statement.get("scope", {})
    label = f"the scope ({scope.get('reference') or scope.get('kind')}, {scope.get('state', 'a time range')})"
    results.append((f"{label} is signed by key {named}", ok and statement.get("format") == SCOPE_FORMAT))
    if not results[-1][1]:
        return results  # an unsigned scope says nothing about where the bundle starts and ends
    # The range is the signed one: a manifest rewritten to end earlier does not move it.
    first, last = statement["first_seq"], statement["last_seq"]
    if not (_is_size(first) and _is_size(last) and first <= last < covering["tree_size"]):
        return [*results, (f"the signed range {first}-{last} lies in checkpoint {covering['tree_size']}", False)]
    lines = contents["events.jsonl"].split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    parsed, problems = _events(lines, first, last)
    results += [(problem, False) for problem in problems]
    results.append((f"events {first} to {last} all present and in order", not problems))
    if last >= covering["tree_size"]:
        results.append((f"checkpoint {covering['tree_size']} covers event {last}", False))
    table, paths, size, root = _proof_paths(contents, covering, results)
    decision_lines = [line for line in contents.get("decisions.jsonl", b"").split(b"\n") if line]
    earlier = [
        (event.get("seq"), line, event)
        for line, event in zip(decision_lines, _json_objects(decision_lines), strict=True)
        if isinstance(event, dict)
    ]
    leaves = []
    for seq, line, event in parsed + earlier:
        try:
            leaves.append((seq, _leaf_of(line, event)))
        except ValueError:
            leaves.append((seq, b""))  # an unreadable withheld event: its proof fails below
    bad = verify_inclusions(size, root, ((seq, leaf, _lookup(table, paths.get(seq, []))) for seq, leaf in leaves))
    for seq in bad[:20]:
        results.append((f"event {seq}: its inclusion proof fails (the event was altered, or its proof)", False))
    if len(bad) > 20:
        results.append((f"... and {len(bad) - 20} more events whose inclusion proofs fail", False))
    results.append((f"{len(parsed)} events included in checkpoint {size}", not bad and bool(parsed)))
    results += _decisions(statement, parsed, earlier, set(bad))
    scope_problems = _check_scope(statement, manifest, parsed, covering)
    results += scope_problems
    withheld = statement.get("withheld")
    results.append(
        (f"events {first} to {last} are the signed scope, {withheld} of another matter withheld", not scope_problems)
    )
    if scope.get("kind") == "deployment":
        lines = [line for line in contents["receipts.jsonl"].splitlines() if line.strip()]
        receipts = [r if isinstance(r, dict) else {} for r in _json_objects(lines)]
        recomputed, ledger_problems = _ledger(parsed, receipts, scope["deployment"])
        results += [(f"deployment {scope.get('reference')}: {p}", False) for p in ledger_problems]
        label = (
            f"deployment {scope.get('reference')}: faces {recomputed['faces']} in {recomputed['tracks']} tracks ="
            f" alerts {recomputed['alerts']} + sightings {recomputed['sightings']} + receipts {recomputed['receipts']}"
        )
        results.append((label, not ledger_problems))
        claimed = statement.get("ledger")
        # A bundle signed before ledgers counted tracks names faces, alerts and receipts only.
        older = isinstance(claimed, dict) and set(claimed) == {"faces", "alerts", "receipts"}
        expected = {name: recomputed[name] for name in claimed} if older else recomputed
        results.append(
            (f"the signed final ledger {claimed} is the one recomputed from the events", claimed == expected)
        )
        published, figures = statement.get("published"), _figures(parsed, scope["deployment"])
        if published is None:
            results.append((f"no figures published yet; recomputed from the events: {figures}", True))
        else:
            differ = [f"{name}: published {published.get(name)}, recomputed {value}"
                      for name, value in figures.items() if published.get(name) != value]  # fmt: skip
            label = "the published figures are the ones recomputed from the events"
            results.append((f"{label} ({'; '.join(differ)})" if differ else f"{label}: {figures}", not differ))
    return results


# --- The log's tiles (c2sp.org/tlog-tiles) and the monitor that follows them ------------------------------------------

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_TILE_LEVEL = 63
MAX_ENTRY_LENGTH = 0xFFFF  # an entry bundle frames each entry with a big-endian uint16 length
_TILE_PATH = re.compile(r"(entries|0|[1-9][0-9]?)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?")
# A public entry whose event holds personal data: its position and its leaf hash only (tiles.public_entry). Its
# canonical JSON sorts "leaf_hash" first; an event's own text starts with "action" and a tombstone with "redacted".
WITHHELD_PREFIX = b'{"leaf_hash":"'
TOMBSTONE_PREFIX = b'{"redacted":"'


class TilePathError(ValueError):
    """A path that is not a tile or an entry bundle as c2sp.org/tlog-tiles writes one."""


def tile_index_path(index: int) -> str:
    """N as a tile path writes it: three-digit groups, every one but the last prefixed with x (x001/x234/067)."""
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*(f"x{group}" for group in groups[:-1]), groups[-1]])


def tile_path(level: int | None, index: int, width: int = TILE_WIDTH) -> str:
    """The path of a hash tile (level 0 and up) or, with level None, of an entry bundle, under the log's prefix."""
    partial = f".p/{width}" if width < TILE_WIDTH else ""
    return f"tile/{'entries' if level is None else level}/{tile_index_path(index)}{partial}"


def parse_tile_path(path: str) -> tuple[int | None, int, int]:
    """(level, index, width) of `<L>/<N>[.p/<W>]` or (None, index, width) of `entries/<N>[.p/<W>]`, the part of a path
    after `tile/`; TilePathError for any other text, a non-canonical N (x000/...) among them."""
    match = _TILE_PATH.fullmatch(path) if isinstance(path, str) else None
    if match is None:
        raise TilePathError(
            f"{path!r} is not a tile path: <level>/<N>[.p/<width>] or entries/<N>[.p/<width>], N in three-digit "
            "groups, all but the last prefixed with x (x001/x234/067), width 1 to 255"
        )
    level_text, index_text, width_text = match.groups()
    if index_text.startswith("x000/"):
        raise TilePathError(f"{path!r} writes its index with a leading zero group (x000/): not the canonical path")
    width = int(width_text) if width_text else TILE_WIDTH
    if width_text and width >= TILE_WIDTH:
        raise TilePathError(f"{path!r}: a partial tile's width is 1 to {TILE_WIDTH - 1}")
    level = None if level_text == "entries" else int(level_text)
    if level is not None and level > MAX_TILE_LEVEL:
        raise TilePathError(f"{path!r}: a tile's level is 0 to {MAX_TILE_LEVEL}")
    return level, int(index_text.replace("x", "").replace("/", "")), width


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries framed as an entry bundle: each one's length as a big-endian uint16, then the entry."""
    framed = []
    for entry in entries:
        if len(entry) > MAX_ENTRY_LENGTH:
            raise ValueError(f"an entry of {len(entry)} bytes does not fit a uint16 length")
        framed.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(framed)


def read_entry_bundle(data: bytes) -> list[bytes]:
    """The entries of an entry bundle; ValueError when its framing is cut short."""
    entries, at = [], 0
    view = memoryview(data)
    while at < len(data):
        if at + 2 > len(data):
            raise ValueError("an entry bundle ends inside an entry's length")
        length = int.from_bytes(view[at : at + 2], "big")
        end = at + 2 + length
        if end > len(data):
            raise ValueError("an entry bundle ends inside an entry")
        entries.append(bytes(view[at + 2 : end]))
        at = end
    return entries


def public_entry_leaf(entry: bytes, position: int) -> bytes:
    """The leaf hash a public entry stands for: the hash of the event's canonical text, or the one a withheld entry
    or a redaction tombstone names. ValueError when the entry names another position or no 32-byte hash."""
    if entry.startswith(WITHHELD_PREFIX):
        event = json.loads(entry)
        if not isinstance(event, dict) or set(event) != {"seq", "withheld", "leaf_hash"}:
            raise ValueError("a withheld entry is its seq, its leaf hash and why it is withheld, nothing more")
        named = _hex(event["leaf_hash"])
    elif entry.startswith(TOMBSTONE_PREFIX):
        event = json.loads(entry)
        named = _hex(event.get("redacted")) if isinstance(event, dict) else b""
    else:
        event = json.loads(entry)
        named = leaf_hash(entry)
    if not isinstance(event, dict) or event.get("seq") != position:
        raise ValueError(f"the entry at position {position} names position {event.get('seq')!r}")
    if len(named) != HASH_SIZE:
        raise ValueError(f"the entry at position {position} names no 32-byte leaf hash")
    return named


class MonitorProblem(Exception):
    """What the monitor found wrong, said in one line; the state is left as it was."""


class _Http:
    """GETs against one base URL on one kept-alive connection, waiting out a 429's Retry-After."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        import http.client
        import urllib.parse

        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MonitorProblem(f"{base_url!r} is not an http(s) URL of a Govern log")
        self._connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._netloc, self._prefix, self._timeout = parts.netloc, parts.path.rstrip("/"), timeout
        self._connection = None

    def get(self, path: str) -> tuple[int, bytes]:
        """The status and body of GET <base>/<path>."""
        import time

        for attempt in range(6):
            if self._connection is None:
                self._connection = self._connection_class(self._netloc, timeout=self._timeout)
            try:
                self._connection.request("GET", f"{self._prefix}/{path}", headers={"User-Agent": "govern-monitor"})
                response = self._connection.getresponse()
                body = response.read()
            except (OSError, ConnectionError) as exc:
                self.close()
                if attempt == 5:
                    raise MonitorProblem(f"could not read {path}: {exc!r}") from None
                continue
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            if response.status == 429 and attempt < 5:
                time.sleep(min(float(response.getheader("Retry-After") or 1), 30.0))
                continue
            return response.status, body
        raise MonitorProblem(f"{path} was refused as too many requests, five times")

    def close(self) -> None:
        """Drop the connection (the next GET opens another)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _Frontier:
    """The right edge of a tree being rebuilt leaf by leaf, noting every node it completes at a tile level above the
    leaves (8, 16, ...); leaves are checked against their tile bundle by bundle, so a million of them are never held."""

    def __init__(self, size: int, hashes: list[bytes]):
        if len(hashes) != size.bit_count():
            raise MonitorProblem(
                f"the state's frontier holds {len(hashes)} hashes, a tree of {size} needs {size.bit_count()}"
            )
        self.size, self.hashes = size, list(hashes)
        self.tile_nodes: dict[int, dict[int, bytes]] = {}  # level 8L -> {index: hash}, for checking hash tiles

    def append(self, leaf: bytes) -> None:
        value, level, pending = leaf, 0, self.size
        new_size = self.size + 1
        while pending & 1:
            value = hashlib.sha256(b"\x01" + self.hashes.pop() + value).digest()
            level += 1
            pending >>= 1
            if level % TILE_HEIGHT == 0:
                self.tile_nodes.setdefault(level, {})[(new_size >> level) - 1] = value
        self.hashes.append(value)
        self.size = new_size

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        value = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            value = _node_hash(left, value)
        return value


def _load_state(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            state = json.load(fh)
    except FileNotFoundError:
        return {"size": 0, "root": EMPTY_ROOT.hex(), "frontier": [], "note": None}
    except (OSError, ValueError) as exc:
        raise MonitorProblem(f"the state file {path} cannot be read: {exc!r}") from None
    if not isinstance(state, dict) or not _is_size(state.get("size")) or not isinstance(state.get("frontier"), list):
        raise MonitorProblem(f"the state file {path} is not a monitor's state (size, root, frontier)")
    return state


def _save_state(path: str, state: dict) -> None:
    """Write the state whole or not at all: a crash mid-write leaves the last one."""
    import os
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".monitor-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _tiles_to_check(old_size: int, new_size: int):
    """(level, index, width) of every hash tile above the leaves holding a node the growth from old_size to new_size
    added."""
    level = 1
    while (new_size >> (TILE_HEIGHT * level)) > (old_size >> (TILE_HEIGHT * level)):
        first, last = old_size >> (TILE_HEIGHT * level), new_size >> (TILE_HEIGHT * level)
        for index in range(first // TILE_WIDTH, (last - 1) // TILE_WIDTH + 1):
            yield level, index, min(TILE_WIDTH, last - index * TILE_WIDTH)
        level += 1


def _compare_tile(path: str, status: int, body: bytes, level: int, index: int, width: int, nodes: dict) -> None:
    """Check a hash tile as served against the nodes rebuilt from the entries (those the monitor has)."""
    if status != 200 or len(body) != width * HASH_SIZE:
        raise MonitorProblem(f"{path} answered {status} with {len(body)} bytes")
    start = index * TILE_WIDTH
    for offset in range(width):
        expected = nodes.get(start + offset)
        if expected is not None and body[offset * HASH_SIZE : (offset + 1) * HASH_SIZE] != expected:
            raise MonitorProblem(
                f"{path} serves node ({TILE_HEIGHT * level}, {start + offset}) unlike the tree rebuilt from the "
                "entries: the tiles and the entries tell two histories"
            )


def _fetched(base_url: str, paths, connections: int):
    """(path, status, body) of each path, in order, with up to `connections` GETs in flight on connections of their
    own: the server's workers answer side by side while this thread hashes. Close it to stop early."""
    import collections
    import threading
    from concurrent.futures import ThreadPoolExecutor

    local, opened, lock = threading.local(), [], threading.Lock()

    def get(path: str) -> tuple[str, int, bytes]:
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = _Http(base_url)
            with lock:
                opened.append(http)
        return (path, *http.get(path))

    waiting = iter(paths)
    pending: collections.deque = collections.deque()
    pool = ThreadPoolExecutor(max(1, connections), thread_name_prefix="monitor")
    try:
        for path in itertools.islice(waiting, 4 * max(1, connections)):
            pending.append(pool.submit(get, path))
        while pending:
            answer = pending.popleft().result()
            following = next(waiting, None)
            if following is not None:
                pending.append(pool.submit(get, following))
            yield answer
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        for http in opened:
            http.close()


def _rebuild(base_url: str, frontier: _Frontier, new_size: int, check_tiles: bool, connections: int) -> int:
    """Extend the tree from the entries after its size up to new_size, checking each entry's position and, with
    check_tiles, each level-0 tile against the leaves; the number of tiles checked."""
    first, last = frontier.size // TILE_WIDTH, (new_size - 1) // TILE_WIDTH

    def width_of(index: int) -> int:
        return min(TILE_WIDTH, new_size - index * TILE_WIDTH)

    paths = []
    for index in range(first, last + 1):
        paths.append(tile_path(None, index, width_of(index)))
        if check_tiles:
            paths.append(tile_path(0, index, width_of(index)))
    answers = _fetched(base_url, paths, connections)
    try:
        for index in range(first, last + 1):
            width = width_of(index)
            path, status, body = next(answers)
            if status != 200:
                raise MonitorProblem(f"{path} answered {status}: entries the checkpoint covers are missing (a gap)")
            try:
                entries = read_entry_bundle(body)
            except ValueError as exc:
                raise MonitorProblem(f"{path}: {exc}") from None
            if len(entries) != width:
                raise MonitorProblem(f"{path} holds {len(entries)} entries, not {width}: a gap")
            leaves = {}
            for position in range(frontier.size, index * TILE_WIDTH + width):
                try:
                    leaf = public_entry_leaf(entries[position - index * TILE_WIDTH], position)
                except ValueError as exc:
                    raise MonitorProblem(f"{path}: {exc}") from None
                frontier.append(leaf)
                leaves[position] = leaf
            if check_tiles:
                _compare_tile(*next(answers), 0, index, width, leaves)
    finally:
        answers.close()
    return last - first + 1 if check_tiles else 0


def monitor(
    base_url: str,
    keys: Sequence[notes.VerifierKey],
    state_path: str,
    *,
    cosignatures=None,
    check_tiles: bool = True,
    connections: int = 4,
) -> list[tuple[str, bool]]:
    """Follow a Govern log from its public /checkpoint and tiles once: check the new checkpoint's signature, rebuild
    the tree from the entries appended since the last verified one (so the new tree extends it, or the log forked),
    check the hash tiles against it, and keep the new size, root and right edge in the state file. `cosignatures`,
    when given, is called with the opened note and returns (label, ok) lines of its own (the witness quorum).
    `connections` GETs are in flight at once while the entries are read.
    Returns (what was checked, whether it held); the state moves only when everything held."""
    results: list[tuple[str, bool]] = []
    http = _Http(base_url)
    try:
        state = _load_state(state_path)
        status, body = http.get("checkpoint")
        if status != 200:
            raise MonitorProblem(f"{base_url}/checkpoint answered {status}")
        origin = keys[0].name
        try:
            checkpoint, opened = notes.open_checkpoint(body, origin, list(keys))
        except notes.NoteError as exc:
            raise MonitorProblem(f"the checkpoint is not a note of {origin} its key signed: {exc}") from None
        results.append(
            (f"checkpoint {checkpoint.size} of {origin} signed by {keys[0].name}+{keys[0].key_hash.hex()}", True)
        )
        if cosignatures is not None:
            results += list(cosignatures(opened))
        old_size, old_root = state["size"], _hex(state.get("root", ""))
        if checkpoint.size < old_size:
            raise MonitorProblem(
                f"the log shrank: checkpoint {checkpoint.size} after the verified {old_size} (a rolled-back history)"
            )
        if checkpoint.size == old_size:
            if checkpoint.root_hash != old_root:
                raise MonitorProblem(
                    f"a fork: two trees of size {old_size}, root {old_root.hex()} verified before and "
                    f"{checkpoint.root_hash.hex()} now (both notes signed by the log: keep them as evidence)"
                )
            results.append((f"no new entries since {old_size}; the root is the one verified", True))
        else:
            frontier = _Frontier(old_size, [_hex(h) for h in state["frontier"]])
            if frontier.root() != old_root:
                raise MonitorProblem("the state file's frontier does not make its own root: the state was altered")
            checked = _rebuild(base_url, frontier, checkpoint.size, check_tiles, connections)
            if frontier.root() != checkpoint.root_hash:
                raise MonitorProblem(
                    f"inconsistent: the tree of size {old_size} verified before, extended with the entries served up "
                    f"to {checkpoint.size}, has root {frontier.root().hex()}, not the checkpoint's "
                    f"{checkpoint.root_hash.hex()} (a forked or rewritten history)"
                )
            results.append((f"entries {old_size} to {checkpoint.size - 1} rebuild the checkpoint's root", True))
            if check_tiles:
                for level, index, width in _tiles_to_check(old_size, checkpoint.size):
                    path = tile_path(level, index, width)
                    nodes = frontier.tile_nodes.get(TILE_HEIGHT * level, {})
                    _compare_tile(path, *http.get(path), level, index, width, nodes)
                    checked += 1
                results.append((f"{checked} hash tile(s) agree with the entries", True))
            state = {
                "origin": origin,
                "size": checkpoint.size,
                "root": checkpoint.root_hash.hex(),
                "frontier": [h.hex() for h in frontier.hashes],
            }
        if all(ok for _, ok in results):
            state["note"] = body.decode()
            _save_state(state_path, state)
    except (MonitorProblem, ValueError) as exc:  # ValueError: a state file or an answer not as written
        results.append((str(exc), False))
    finally:
        http.close()
    return results


def witness_quorum(witnesses: Sequence[notes.VerifierKey], quorum: int):
    """The monitor's check of a checkpoint's cosignatures: a line for each witness (cosigned, or not), and whether
    at least `quorum` of them did (an unwitnessed checkpoint fails)."""

    def check(opened) -> list[tuple[str, bool]]:
        cosigned = opened.verified_by(list(witnesses))
        lines = [
            (
                f"witness {key.name}: {'cosigned' if key in cosigned else 'no valid cosignature on'} this checkpoint",
                True,
            )
            for key in witnesses
        ]
        lines.append(
            (
                f"{len(cosigned)} of {len(witnesses)} witness(es) cosigned; the quorum is {quorum}",
                len(cosigned) >= quorum,
            )
        )
        return lines

    return check


def _witness_options(parser, witness: list[str], quorum: int | None):
    """The --witness keys and --quorum as the monitor's cosignature check, or None when no witness is named."""
    if not witness:
        if quorum:
            parser.error("--quorum needs the --witness keys it counts")
        return None
    try:
        keys = [notes.VerifierKey.parse(key) for key in witness]
    except notes.NoteError as exc:
        parser.error(f"--witness: {exc}")
    quorum = len(keys) if quorum is None else quorum
    if not 1 <= quorum <= len(keys):
        parser.error(f"--quorum {quorum} is not between 1 and the {len(keys)} --witness keys given")
    return witness_quorum(keys, quorum)


def _monitor_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="verifier.py monitor",
        description="Follow a Govern log's public checkpoint and tiles; non-zero exit status on any problem.",
    )
    parser.add_argument("url", help="the log's base URL: <url>/checkpoint and <url>/tile/... are read")
    parser.add_argument("--key", required=True, help="the log's verifier key, <origin>+<hex key hash>+<base64 key>")
    parser.add_argument("--state", required=True, help="the state file: the last verified size, root and right edge")
    parser.add_argument("--no-tiles", action="store_true", help="rebuild from the entries without checking hash tiles")
    parser.add_argument(
        "--witness", action="append", default=[], help="a witness's verifier key (repeatable): its cosignature counts"
    )
    parser.add_argument("--quorum", type=int, help="how many --witness keys must have cosigned (default: all)")
    args = parser.parse_args(argv)
    cosignatures = _witness_options(parser, args.witness, args.quorum)
    try:
        key = notes.VerifierKey.parse(args.key)
    except notes.NoteError as exc:
        print(f"FAIL  {exc}")
        return 2
    results = monitor(args.url, [key], args.state, cosignatures=cosignatures, check_tiles=not args.no_tiles)
    for label, ok in results:
        print(f"{'OK  ' if ok else 'FAIL'}  {label}")
    passed = all(ok for _, ok in results)
    print("RESULT: OK" if passed else "RESULT: FAIL")
    return 0 if passed else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Verify a proof file or an evidence bundle, print an OK / FAIL report and return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["monitor"]:
        return _monitor_main(argv[1:])
    parser = argparse.ArgumentParser(description="Verify a Govern audit log proof (RFC 9162) or evidence bundle.")
    parser.add_argument("proof", help="path to the proof JSON file or the evidence bundle (.zip)")
    parser.add_argument(
        "--public-key", help="PEM file of the force's published checkpoint keys, one or more blocks (bundles)"
    )
    parser.add_argument(
        "--witness", action="append", default=[], help="a witness's verifier key (repeatable; bundles): pins them"
    )
    parser.add_argument("--quorum", type=int, help="how many of the --witness keys must have cosigned (bundles)")
    args = parser.parse_args(argv)
    witnesses = None
    if args.witness or args.quorum is not None:
        quorum = len(args.witness) if args.quorum is None else args.quorum
        if not 0 <= quorum <= len(args.witness):
            parser.error(f"--quorum {quorum} is not between 0 and the {len(args.witness)} --witness keys given")
        witnesses = (args.witness, quorum, "pinned with --witness")
    try:
        if zipfile.is_zipfile(args.proof):
            key = None
            if args.public_key:
                with open(args.public_key, "rb") as fh:
                    key = fh.read()
            results = verify_bundle(args.proof, key, witnesses)
        else:
            with open(args.proof, encoding="utf-8") as fh:
                results = _check_file(json.load(fh))
    except Exception as exc:  # whatever a doctored file does, the answer is FAIL, never a traceback
        print(f"FAIL  could not read {args.proof}: {exc!r}")
        return 1
    for label, ok in results:
        print(f"{'OK  ' if ok else 'FAIL'}  {label}")
    passed = all(ok for _, ok in results)
    print("RESULT: OK" if passed else "RESULT: FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
