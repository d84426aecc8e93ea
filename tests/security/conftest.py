"""Fixtures the security tests share."""

import pytest


@pytest.fixture
def keys(settings, tmp_path):
    """Fresh key files for the three secrets (generated on first use) and a data key store, in a directory of their
    own."""
    directory = tmp_path / "keys"
    settings.AUDIT_SIGNING_KEY_FILE = directory / "audit-signing-key.pem"
    settings.IMAGE_ENCRYPTION_KEY_FILE = directory / "image-encryption.key"
    settings.RECEIPT_KEY_FILE = directory / "receipt-hmac.key"
    settings.AUDIT_SIGNING_KEY_GENERATE = settings.IMAGE_ENCRYPTION_KEY_GENERATE = True
    settings.RECEIPT_KEY_GENERATE = True
    settings.DATA_KEY_DIR = directory / "data-keys"
    return directory
