"""Standalone verifier for Govern audit log proofs and signed checkpoints.

Needs only the Python standard library and the ``cryptography`` package, so a regulator can run this single
file without the Govern code base:

    python verifier.py proof.json

proof.json holds either an inclusion proof
    {"type": "inclusion", "leaf_index", "tree_size", "leaf_hash", "audit_path": [...], "root_hash"}
or a consistency proof
    {"type": "consistency", "first", "second", "first_root", "second_root", "proof": [...]}
with hashes in hex, optionally plus a signed checkpoint of the (second) tree
    "checkpoint": {"tree_size", "root_hash", "timestamp", "signature" (base64), "public_key" (PEM)}.
Proofs follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 (RFC 6962 hashing).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import sys
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
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
    """Return the exact bytes that are signed for a checkpoint."""
    return f"{CHECKPOINT_ORIGIN}\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n{timestamp}\n".encode()


def _load_public_key(public_key: bytes | str) -> Ed25519PublicKey:
    if isinstance(public_key, str):
        public_key = public_key.encode()
    if len(public_key) == 32:
        return Ed25519PublicKey.from_public_bytes(public_key)
    key = load_pem_public_key(public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("public key is not an Ed25519 key")
    return key


def verify_checkpoint(public_key: bytes, tree_size: int, root_hash: bytes, timestamp: str, signature: bytes) -> bool:
    """Return True if signature is a valid Ed25519 signature of the checkpoint; never raises."""
    try:
        if not (_is_size(tree_size) and _is_hash(root_hash) and isinstance(timestamp, str)):
            return False
        _load_public_key(public_key).verify(bytes(signature), checkpoint_message(tree_size, root_hash, timestamp))
    except Exception:
        return False
    return True


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
        key = checkpoint["public_key"]
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        signed = verify_checkpoint(key.encode(), checkpoint["tree_size"], cp_root, checkpoint["timestamp"], signature)
        try:
            raw = _load_public_key(key).public_bytes(Encoding.Raw, PublicFormat.Raw)
            label = f"checkpoint signature (key id {key_id(raw)})"
        except Exception:
            label = "checkpoint signature (unreadable public key)"
        results.append((label, signed))
        same_tree = checkpoint["tree_size"] == size and cp_root == root
        results.append(("checkpoint names the same tree size and root", same_tree))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Verify a proof file, print an OK / FAIL report and return the exit status."""
    parser = argparse.ArgumentParser(description="Verify a Govern audit log proof (RFC 9162) and its checkpoint.")
    parser.add_argument("proof", help="path to the proof JSON file")
    args = parser.parse_args(argv)
    try:
        with open(args.proof, encoding="utf-8") as fh:
            results = _check_file(json.load(fh))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        print(f"FAIL  could not read proof file: {exc!r}")
        return 1
    for label, ok in results:
        print(f"{'OK  ' if ok else 'FAIL'}  {label}")
    passed = all(ok for _, ok in results)
    print("RESULT: OK" if passed else "RESULT: FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
