"""A bundle's scope is signed (issue 22): one whose head, tail or middle was withheld, or whose own events were turned
into hashes, fails however carefully the manifest was rewritten; another matter's events inside its range travel as
leaf hashes only, and the bundle still verifies."""

import base64
import json
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from apps.audit import services as audit
from apps.audit.verifier import leaf_hash
from apps.matching.services import live_capture
from apps.oversight import bundles

from .test_bundle import _lines, _rewrite, _verify

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
SECRET = "CAD-4471 retail search of another matter"


@pytest.fixture
def mixed(actors, ledgered, vans, astronaut, tmp_path):
    """The deployment's events with another matter's event between them, and one more frame after it."""
    audit.record("search.submitted", ("matching.searchrequest", "77"), actors.retail, data={"incident": SECRET})
    live_capture.capture_frame(vans[0], astronaut)
    content, manifest = bundles.build(actors.privacy, bundles.Scope(deployment=ledgered))
    path = tmp_path / "bundle.zip"
    path.write_bytes(content)
    return path, manifest


def _events(files) -> list[dict]:
    return [json.loads(line) for line in _lines(files)]


def test_another_matters_events_travel_as_leaf_hashes_and_the_bundle_verifies(mixed):
    path, manifest = mixed
    status, report = _verify(path)
    assert status == 0, report
    assert "1 of another matter withheld" in report and "is signed by key" in report
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert SECRET.encode() not in files["events.jsonl"]
    (withheld,) = [event for event in _events(files) if "withheld" in event]
    assert set(withheld) == {"seq", "withheld", "leaf_hash"}
    statement = json.loads(files["scope.json"])["statement"]
    assert (
        statement["ledger"]
        == manifest["ledger"]
        == {"faces": 4, "tracks": 4, "alerts": 1, "sightings": 0, "receipts": 3}
    )
    assert statement["scope"]["state"] == "live"


def _cut(files, keep) -> None:
    """Keep only the events `keep` allows, and rewrite the manifest's range to match (a careful forger)."""
    lines = [line for line in _lines(files) if keep(json.loads(line)["seq"])]
    files["events.jsonl"] = ("\n".join(lines) + "\n").encode()
    manifest = json.loads(files["manifest.json"])
    seqs = [json.loads(line)["seq"] for line in lines]
    manifest["first_seq"], manifest["last_seq"], manifest["events"] = seqs[0], seqs[-1], len(seqs)
    files["manifest.json"] = json.dumps(manifest).encode()


def test_a_withheld_tail_fails(mixed):
    path, manifest = mixed
    last = manifest["last_seq"]
    _rewrite(path, lambda files: _cut(files, lambda seq: seq < last - 2))  # the last frame and what followed
    status, report = _verify(path)
    assert status == 1, report
    assert f"event {last} is missing" in report and "the signed final ledger" in report


def test_a_withheld_head_fails(mixed):
    path, manifest = mixed
    first = manifest["first_seq"]
    _rewrite(path, lambda files: _cut(files, lambda seq: seq > first + 1))
    status, report = _verify(path)
    assert status == 1 and f"event {first} is missing" in report and "first event" in report


def test_a_withheld_middle_fails(mixed):
    path, manifest = mixed
    middle = (manifest["first_seq"] + manifest["last_seq"]) // 2
    _rewrite(path, lambda files: _cut(files, lambda seq: seq != middle))
    status, report = _verify(path)
    assert status == 1 and f"event {middle} is missing" in report


def test_an_event_of_the_scope_turned_into_a_hash_fails(mixed):
    """The tree still checks (the leaf hash is the real one), but the signed scope withholds only the other matter."""
    path, _ = mixed

    def hide_last_capture(files):
        lines = _lines(files)
        index = max(i for i, line in enumerate(lines) if '"action":"capture.processed"' in line)
        seq = json.loads(lines[index])["seq"]
        lines[index] = bundles._withheld_line(seq, leaf_hash(lines[index].encode()))
        files["events.jsonl"] = ("\n".join(lines) + "\n").encode()

    _rewrite(path, hide_last_capture)
    status, report = _verify(path)
    assert status == 1 and "an event of the scope was turned into a hash" in report


def test_a_scope_signed_by_another_key_fails_and_an_unsigned_bundle_fails(mixed):
    path, _ = mixed
    other = Ed25519PrivateKey.generate()

    def resign(files):
        document = json.loads(files["scope.json"])
        document["statement"]["last_seq"] -= 3
        message = (
            bundles.SCOPE_CONTEXT + json.dumps(document["statement"], sort_keys=True, separators=(",", ":")).encode()
        )
        document["signature"] = base64.b64encode(other.sign(message)).decode()
        files["scope.json"] = json.dumps(document).encode()

    _rewrite(path, resign)
    status, report = _verify(path)
    assert status == 1 and "FAIL  the scope" in report

    def unsign(files):
        del files["scope.json"]
        manifest = json.loads(files["manifest.json"])
        del manifest["files"]["scope.json"]
        files["manifest.json"] = json.dumps(manifest).encode()

    _rewrite(path, unsign)
    status, report = _verify(path)
    assert status == 1 and "the bundle's scope is signed (scope.json)" in report
