"""C2SP signed notes (c2sp.org/signed-note) and checkpoints (c2sp.org/tlog-checkpoint), Ed25519 keys only.

Needs only the Python standard library and ``cryptography``: the offline verifier (verifier.py) loads it from beside
itself, so an evidence bundle carries both files. A checkpoint is a note whose text is

    <origin>\\n<tree size>\\n<base64 root hash>\\n

followed by a blank line and one signature line per signer, ``— <key name> <base64(key hash || signature)>``, where
the key hash is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || 32-byte public key) and the signature is
Ed25519 over the text alone. A verifier key is published as ``<key name>+<hex key hash>+<base64(0x01 || public key)>``.
The log's key name is its origin. The text holds no time: witnesses' cosignatures carry time
(c2sp.org/tlog-cosignature), and the time a checkpoint was signed is the log's own record, not a signed claim.

A witness's cosignature (c2sp.org/tlog-cosignature, Ed25519 type) is one more signature line on the same checkpoint,
under the witness's name, its key hash computed with type byte 0x04 instead of 0x01, and its signature the 8-byte
big-endian POSIX time of cosigning followed by the Ed25519 signature of ``cosignature/v1\ntime <time>\n`` + the
checkpoint's text. A witness's verifier key is published as ``<name>+<hex key hash>+<base64(0x04 || public key)>``,
and ``VerifierKey.verify`` checks either kind of line, so ``Note.verified_by`` counts a quorum of witnesses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALGORITHM_ED25519 = 0x01
ALGORITHM_COSIGNATURE_V1 = 0x04  # c2sp.org/tlog-cosignature: Ed25519 over "cosignature/v1\ntime <t>\n" + checkpoint
ALGORITHMS = (ALGORITHM_ED25519, ALGORITHM_COSIGNATURE_V1)
COSIGNATURE_HEADER = "cosignature/v1\n"
MAX_COSIGNATURE_TIME = 2**63 - 1
SIGNATURE_PREFIX = "\N{EM DASH} "
MAX_SIGNATURES = 100  # what Go's note.Open accepts: a note with more is malformed
MAX_ORIGIN_LENGTH = 255  # c2sp.org/tlog-cosignature signs the origin with a one-byte length
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


class NoteError(ValueError):
    """The text is not a well-formed signed note or checkpoint, or no known key signed it."""


def check_name(name: str) -> str:
    """A key name as the spec allows it: non-empty, no Unicode space, no plus sign; else NoteError."""
    if not isinstance(name, str) or not name or "+" in name or any(ch.isspace() for ch in name):
        raise NoteError(f"{name!r} is not a key name: it must be non-empty, without spaces or '+'")
    return name


def check_origin(origin: str) -> str:
    """A log origin: a key name (the log signs under it) of printable ASCII, no scheme, at most 255 bytes."""
    check_name(origin)
    if not origin.isascii() or not origin.isprintable() or "://" in origin or len(origin) > MAX_ORIGIN_LENGTH:
        raise NoteError(
            f"{origin!r} is not a log origin: a schema-less URL of printable ASCII, at most {MAX_ORIGIN_LENGTH} "
            "characters (e.g. govern.example-police.uk/audit)"
        )
    return origin


def _raw_key(public_key: bytes) -> bytes:
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise NoteError("an Ed25519 public key is 32 raw bytes")
    return public_key


def key_hash(name: str, public_key: bytes, algorithm: int = ALGORITHM_ED25519) -> bytes:
    """The 4-byte key hash that names a key in signature lines: SHA-256(name || 0x0A || type || key)[:4], the type
    0x01 for a note signer (the log), 0x04 for a cosigner (a witness)."""
    if algorithm not in ALGORITHMS:
        raise NoteError(f"signature type {algorithm:#04x} is not Ed25519 (0x01) nor cosignature/v1 (0x04)")
    encoded = check_name(name).encode() + b"\n" + bytes([algorithm]) + _raw_key(public_key)
    return hashlib.sha256(encoded).digest()[:4]


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: the header line, the time line, then the checkpoint's text."""
    if not (isinstance(timestamp, int) and 0 <= timestamp <= MAX_COSIGNATURE_TIME):
        raise NoteError(f"a cosignature's time is a POSIX time from 0 to 2**63 - 1, not {timestamp!r}")
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{_check_text(text)}".encode()


@dataclass(frozen=True)
class VerifierKey:
    """A key that checks signature lines: its name, its 4-byte hash and the raw Ed25519 public key."""

    name: str
    key_hash: bytes
    public_key: bytes
    algorithm: int = ALGORITHM_ED25519

    def __str__(self) -> str:
        encoded = base64.b64encode(bytes([self.algorithm]) + self.public_key).decode()
        return f"{self.name}+{self.key_hash.hex()}+{encoded}"

    @property
    def is_cosigner(self) -> bool:
        """Whether this key checks cosignatures (a witness's, type 0x04) rather than a log's own signature."""
        return self.algorithm == ALGORITHM_COSIGNATURE_V1

    @classmethod
    def of(cls, name: str, public_key: bytes, algorithm: int = ALGORITHM_ED25519) -> VerifierKey:
        """The verifier key of a name and a raw Ed25519 public key, a log's (0x01) or a cosigner's (0x04)."""
        return cls(name, key_hash(name, public_key, algorithm), _raw_key(public_key), algorithm)

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Read `<name>+<hex key hash>+<base64(type || key)>`, type 0x01 (a log) or 0x04 (a witness); NoteError when it
        is not one, or its hash is wrong."""
        parts = text.strip().split("+", 2) if isinstance(text, str) else []  # base64 may hold '+': not the name
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise NoteError(f"{text!r} is not a verifier key <name>+<hex key hash>+<base64 key>")
        name, hash_hex, encoded = parts
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise NoteError(f"the verifier key {name}'s key is not base64") from None
        if len(key) != 33 or key[0] not in ALGORITHMS:
            raise NoteError(f"the verifier key {name} is not an Ed25519 key (0x01 or 0x04, and 32 bytes)")
        parsed = cls.of(name, key[1:], key[0])
        if parsed.key_hash.hex() != hash_hex:
            raise NoteError(f"the verifier key {name}'s hash {hash_hex} is not its key's ({parsed.key_hash.hex()})")
        return parsed

    def verify(self, text: str, signature: bytes) -> bool:
        """Whether `signature` is this key's signature of the note text (for a cosigner: its time, then its Ed25519
        signature of the cosignature message); never raises."""
        try:
            signature = bytes(signature)
            message = text.encode()
            if self.is_cosigner:
                if len(signature) != 8 + 64:
                    return False
                message = cosignature_message(text, cosignature_time(signature))
                signature = signature[8:]
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True


def cosignature_time(signature: bytes) -> int:
    """The POSIX time a cosignature's signature field states (its first 8 bytes, big-endian)."""
    if len(signature) < 8:
        raise NoteError("a cosignature starts with its 8-byte time")
    return int.from_bytes(signature[:8], "big")


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name and hash, and the signature."""

    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        """The line as written in a note, newline included."""
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(self.key_hash + self.signature).decode()}\n"


@dataclass(frozen=True)
class Note:
    """A signed note read apart: its text (what is signed) and its signature lines, in order."""

    text: str
    signatures: tuple[Signature, ...]

    def __str__(self) -> str:
        return self.text + "\n" + "".join(signature.line() for signature in self.signatures)

    def verified_by(self, keys: list[VerifierKey]) -> list[VerifierKey]:
        """The keys among these whose signature line is here and verifies (each key once)."""
        found = []
        for key in keys:
            if key in found:
                continue
            for signature in self.signatures:
                same = (signature.name, signature.key_hash) == (key.name, key.key_hash)
                if same and key.verify(self.text, signature.signature):
                    found.append(key)
                    break
        return found


def _check_text(text: str) -> str:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text) or "\n\n" in text:
        raise NoteError("a note's text holds no control character but newline, and no blank line")
    return text


def parse(note: str | bytes) -> Note:
    """Read a signed note's text and signature lines (checking none of them); NoteError when it is malformed."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("a note is UTF-8") from None
    if any(ord(ch) < 0x20 and ch != "\n" for ch in note):
        raise NoteError("a note holds no control character but newline")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("a note is its text, a blank line, then signature lines each ending in a newline")
    text, lines = note[: split + 1], note[split + 2 :].split("\n")[:-1]
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note carries 1 to {MAX_SIGNATURES} signature lines")
    signatures = []
    for line in lines:
        name, _, encoded = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
        try:
            signed = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            signed = b""
        if not line.startswith(SIGNATURE_PREFIX) or len(signed) < 5:
            raise NoteError(f"{line!r} is not a signature line '— <name> <base64 signature>'")
        signatures.append(Signature(check_name(name), signed[:4], signed[4:]))
    return Note(text, tuple(signatures))


def signature_lines(text: str | bytes) -> list[Signature]:
    """Read signature lines alone (a witness's answer to add-checkpoint), checking none; NoteError when malformed."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("signature lines are UTF-8") from None
    # A note of one placeholder line followed by these lines reads them with the note's own rules.
    return list(parse("-\n\n" + text).signatures)


def open_note(note: str | bytes, keys: list[VerifierKey]) -> Note:
    """The note, if one of these keys signed it; NoteError naming the signers seen otherwise."""
    parsed = parse(note)
    if not parsed.verified_by(keys):
        seen = ", ".join(f"{s.name}+{s.key_hash.hex()}" for s in parsed.signatures)
        raise NoteError(f"no signature by {', '.join(f'{k.name}+{k.key_hash.hex()}' for k in keys)} verifies ({seen})")
    return parsed


def sign(text: str, name: str, public_key: bytes, signature: bytes) -> Note:
    """The note of this text with the signature a key (named, its public key given) made over it."""
    return Note(_check_text(text), (Signature(check_name(name), key_hash(name, public_key), bytes(signature)),))


def cosignature(name: str, public_key: bytes, timestamp: int, signature: bytes) -> Signature:
    """A cosigner's signature line: its name, its 0x04 key hash, its time and its Ed25519 signature of
    cosignature_message(text, timestamp)."""
    if len(signature) != 64:
        raise NoteError("an Ed25519 signature is 64 bytes")
    stamped = timestamp.to_bytes(8, "big") + bytes(signature)
    return Signature(check_name(name), key_hash(name, public_key, ALGORITHM_COSIGNATURE_V1), stamped)


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head as a checkpoint's note text states it (extension lines are ignored, as the spec allows)."""

    origin: str
    size: int
    root_hash: bytes

    def text(self) -> str:
        """The note text: origin, size and base64 root, each on its line."""
        if not (isinstance(self.size, int) and 0 <= self.size < 2**64) or len(self.root_hash) != 32:
            raise NoteError("a checkpoint names a size below 2**64 and a 32-byte root")
        return f"{check_origin(self.origin)}\n{self.size}\n{base64.b64encode(self.root_hash).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint's note text; NoteError when it is not one."""
        lines = _check_text(text).split("\n")[:-1]
        if len(lines) < 3:
            raise NoteError("a checkpoint's text is origin, size and root hash, each on its line")
        origin, size, root = lines[:3]
        try:
            root_hash = base64.b64decode(root, validate=True)
        except (binascii.Error, ValueError):
            root_hash = b""
        if not _SIZE.fullmatch(size) or int(size) >= 2**64:
            raise NoteError(f"{size!r} is not a tree size (a decimal number without leading zeros)")
        if len(root_hash) != 32 or base64.b64encode(root_hash).decode() != root:
            raise NoteError(f"{root!r} is not a base64 SHA-256 root hash")
        return cls(check_name(origin), int(size), root_hash)


def open_checkpoint(note: str | bytes, origin: str, keys: list[VerifierKey]) -> tuple[Checkpoint, Note]:
    """A checkpoint note of this origin that one of these keys signed; NoteError saying what is wrong otherwise."""
    opened = open_note(note, keys)
    checkpoint = Checkpoint.parse(opened.text)
    if checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is of log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint, opened
