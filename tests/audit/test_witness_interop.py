"""Interoperability with a witness Govern did not write (e.g. filippo.io/torchwood's litewitness): its cosignatures of
a log's checkpoints, submitted as Govern submits them, verify with notes.py.

Run one, configured to witness the log below (its verifier key is in the skip message), and name it:

    GOVERN_INTEROP_WITNESS='<witness verifier key> <its submission URL>' pytest tests/audit/test_witness_interop.py

Without it the test is skipped, saying why this machine has none.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from apps.audit import notes

from .witnesses import HandLog, add_checkpoint

# A fixed key, so an external witness can be configured with this log once; its origin names it as a test log.
LOG = HandLog(
    "interop.govern.invalid/test-log",
    Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"govern witness interop test log").digest()),
)


def _why_none() -> str:
    go = shutil.which("go")
    version = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip() if go else "no Go"
    return (
        "no off-the-shelf C2SP witness to test against: filippo.io/torchwood's litewitness is built with Go from its "
        f"module proxy, and this machine has {version} (torchwood needs a newer Go) and cannot reach proxy.golang.org "
        "(tried `go mod download filippo.io/torchwood@latest`: no such host). Run one configured with the log key "
        f"{LOG.verifier_key} and set GOVERN_INTEROP_WITNESS='<its verifier key> <its URL>'."
    )


def test_an_off_the_shelf_witness_cosigns_checkpoints_submitted_as_govern_submits_them():
    configured = os.environ.get("GOVERN_INTEROP_WITNESS")
    if not configured:
        pytest.skip(_why_none())
    vkey, url = configured.split()
    key = notes.VerifierKey.parse(vkey)
    LOG.append(*(f"interop entry {i}" for i in range(len(LOG.leaves), len(LOG.leaves) + 3)))
    # The witness may hold an earlier run's size: ask from 0, and prove from the size its 409 names.
    status, content_type, body = add_checkpoint(url.rstrip("/"), LOG.submission(0))
    if status == 409 and content_type == "text/x.tlog.size":
        pytest.skip(f"the witness holds size {body.strip()} of a previous run's tree; give it a fresh state")
    assert status == 200, body
    text = notes.parse(LOG.checkpoint()).text
    assert notes.Note(text, tuple(notes.signature_lines(body))).verified_by([key]) == [key]
    LOG.append("interop entry, later")
    status, _, body = add_checkpoint(url.rstrip("/"), LOG.submission(len(LOG.leaves) - 1))
    assert status == 200, body
    fork = LOG.fork(len(LOG.leaves) - 1).append("interop entry, forked")
    assert add_checkpoint(url.rstrip("/"), fork.submission(len(fork.leaves)))[0] == 409
