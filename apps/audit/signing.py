"""The Ed25519 key that signs checkpoints, and the history of public keys that verify the checkpoints already signed.

The private key is read from AUDIT_SIGNING_KEY_FILE (generated on first run in development only). A rotation
(apps/audit/rotation.py) keeps every public key the log has been signed with in the key ring beside that file, as
`<key id>.pub.pem`; the old private key is destroyed, since nothing signs with it again.
"""

import hashlib
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from govern import keyfiles

from . import notes

SETTING = "AUDIT_SIGNING_KEY_FILE"
PUBLIC_SUFFIX = keyfiles.PUBLIC_KEY_SUFFIX


def key_file() -> Path:
    """Where the current private key lives."""
    return Path(settings.AUDIT_SIGNING_KEY_FILE)


def generate_pem() -> bytes:
    """A new private key as PEM (PKCS#8)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@lru_cache(maxsize=8)
def parse_private_key(pem: bytes, path: str = SETTING) -> Ed25519PrivateKey:
    """The Ed25519 key in a PEM file's bytes, or ImproperlyConfigured saying what is wrong."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{SETTING} {path} is not a PEM private key: {exc}.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{SETTING} {path} holds a {type(key).__name__}, not an Ed25519 key.")
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    keyfiles.register_material(pem, seed)
    return key


def private_key() -> Ed25519PrivateKey:
    """The checkpoint signing key (a rotated file is taken up at once)."""
    path = key_file()
    if not path.exists() and settings.AUDIT_SIGNING_KEY_GENERATE:
        keyfiles.create_secret_file(path, generate_pem())
    return parse_private_key(keyfiles.read_secret(path, SETTING), str(path))


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 32-byte Ed25519 public key of a private or public key."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def pem_of(raw: bytes) -> str:
    """A raw public key as PEM (SubjectPublicKeyInfo)."""
    key = Ed25519PublicKey.from_public_bytes(raw)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def id_of(raw: bytes) -> str:
    """A public key's id: the first 16 hex digits of the SHA-256 of its 32 raw bytes."""
    return fingerprint(raw)[:16]


def fingerprint(raw: bytes) -> str:
    """The SHA-256 of a public key's 32 raw bytes, in hex."""
    return hashlib.sha256(raw).hexdigest()


def public_key_raw() -> bytes:
    """The current 32-byte Ed25519 public key."""
    return raw_public_key(private_key())


def public_key_pem() -> str:
    """The current public key as PEM (SubjectPublicKeyInfo), for publication."""
    return pem_of(public_key_raw())


def key_id() -> str:
    """A short fingerprint of the current public key: the first 16 hex digits of its SHA-256."""
    return id_of(public_key_raw())


def log_origin() -> str:
    """The log's origin: the first line of its checkpoints and the name they are signed under."""
    return settings.AUDIT_LOG_ORIGIN


def verifier_key(raw: bytes | None = None, origin: str | None = None) -> str:
    """A public key (the current one by default) in the signed-note form `<origin>+<hex key hash>+<base64 key>`."""
    return str(notes.VerifierKey.of(origin or log_origin(), raw if raw is not None else public_key_raw()))


def sign(message: bytes) -> bytes:
    """Sign bytes with the checkpoint key."""
    return private_key().sign(message)


def public_keys() -> dict[str, bytes]:
    """Every public key the log's checkpoints may be signed with, by key id: the current one first, then the ring's."""
    keys = {key_id(): public_key_raw()}
    for expected_id, path in keyfiles.ring_files(key_file(), PUBLIC_SUFFIX).items():
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except ValueError as exc:
            raise ImproperlyConfigured(f"The signing key ring's {path} is not a PEM public key: {exc}.") from None
        if not isinstance(key, Ed25519PublicKey) or id_of(raw_public_key(key)) != expected_id:
            raise ImproperlyConfigured(f"The signing key ring's {path} is not the Ed25519 key its name says.")
        keys.setdefault(expected_id, raw_public_key(key))
    return keys


def public_key_for(wanted: str) -> bytes | None:
    """The raw public key with this id, if the key history holds it."""
    return public_keys().get(wanted)


def public_keys_pem() -> str:
    """Every public key in the history as PEM blocks, the current one first: what a verifier needs to pin."""
    return "".join(pem_of(raw) for raw in public_keys().values())


def keep_public_key(raw: bytes) -> None:
    """Add a public key to the history in the key ring (idempotent)."""
    keyfiles.keep_in_ring(key_file(), id_of(raw), PUBLIC_SUFFIX, pem_of(raw).encode())
