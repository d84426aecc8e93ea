"""The Ed25519 key that signs checkpoints: read from a file (generated on first run in development only)."""

import hashlib
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from govern.keyfiles import create_secret_file


def _generate(path: Path) -> None:
    """Write a new private key (PEM, PKCS#8) readable by its owner only; never overwrite an existing one."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    create_secret_file(path, pem)


@lru_cache(maxsize=4)
def _load(path: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except FileNotFoundError:
        raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY_FILE {path} does not exist.") from None
    except ValueError as exc:
        raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY_FILE {path} is not a PEM private key: {exc}.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY_FILE {path} holds a {type(key).__name__}, not an Ed25519 key.")
    return key


def private_key() -> Ed25519PrivateKey:
    """The checkpoint signing key."""
    path = Path(settings.AUDIT_SIGNING_KEY_FILE)
    if not path.exists() and settings.AUDIT_SIGNING_KEY_GENERATE:
        _generate(path)
    return _load(str(path))


def public_key_raw() -> bytes:
    """The 32-byte Ed25519 public key."""
    return private_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem() -> str:
    """The public key as PEM (SubjectPublicKeyInfo), for publication."""
    return (
        private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def key_id() -> str:
    """A short fingerprint of the public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key_raw()).hexdigest()[:16]


def sign(message: bytes) -> bytes:
    """Sign bytes with the checkpoint key."""
    return private_key().sign(message)
