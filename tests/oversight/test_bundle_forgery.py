"""A doctored deployment bundle fails, quickly and without a traceback (found by an outside review of issue 22): the
engine decision is the approval of the very weights used, receipts are matched field by field and once each,
malformed files are a FAIL, a widened range is refused at once; and a stop found false agrees everywhere."""

import json
import subprocess
import sys
import zipfile

import pytest

from apps.deployments.models import PublishedFigures
from apps.matching.choices import Outcome
from apps.matching.models import Alert
from apps.matching.services import alert_handling, engine_approval
from apps.oversight import bundles, equality

from .test_bundle import _rewrite, _verify

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _bundle(actors, deployment, tmp_path, name="bundle.zip"):
    content, _ = bundles.build(actors.privacy, bundles.Scope(deployment=deployment))
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_the_engine_decision_is_the_approval_of_the_weights_used(actors, ledgered, tmp_path, monkeypatch):
    alert = Alert.objects.get(pk=ledgered.alert_id)
    name, weights, _ = engine_approval.engine_identity()
    other = "ab" * 32
    monkeypatch.setattr(engine_approval, "engine_identity", lambda: (name, other, True))
    engine_approval.approve_engine(
        actors.commander, reason="A later model, tested in 2027", countersigned_by=actors.privacy
    )
    monkeypatch.undo()
    status, report = _verify(_bundle(actors, ledgered, tmp_path))
    assert alert.weights_sha256 == weights != other
    assert status == 0 and f"(weights {weights[:16]})" in report and f"(weights {other[:16]})" not in report


CHANGES = {
    "deep events line": lambda f: f.__setitem__(
        "events.jsonl", f["events.jsonl"] + b"[" * 100000 + b"]" * 100000 + b"\n"
    ),
    "infinite faces": lambda f: f.__setitem__(
        "events.jsonl", f["events.jsonl"].replace(b'"faces":1', b'"faces":1e999', 1)
    ),
    "deep decisions": lambda f: f.__setitem__("decisions.jsonl", b"[" * 100000 + b"]" * 100000 + b"\n"),
    "a decision's seq a list": lambda f: f.__setitem__("decisions.jsonl", b'{"seq": [1]}\n'),
    "scope a list": lambda f: f.__setitem__("scope.json", b"[]"),
    "statement a string": lambda f: f.__setitem__("scope.json", b'{"statement": "x", "signature": ""}'),
    "deep receipts": lambda f: f.__setitem__("receipts.jsonl", b"[" * 100000 + b"]" * 100000 + b"\n"),
    "bad hex in the proofs": lambda f: f.__setitem__("proofs.json", b'{"tree_size": 1, "hashes": ["zz"], "paths": []}'),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_malformed_bundle_fails_without_a_traceback(actors, ledgered, tmp_path, change):
    path = _bundle(actors, ledgered, tmp_path)
    _rewrite(path, change)
    status, report = _verify(path)
    assert status == 1 and "Traceback" not in report, report


def test_a_manifest_that_is_not_an_object_fails(actors, ledgered, tmp_path):
    path = _bundle(actors, ledgered, tmp_path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files["manifest.json"] = b"[]"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    assert _verify(path)[0] == 1


def test_a_receipt_repeated_in_place_of_another_fails(actors, ledgered, tmp_path):
    path = _bundle(actors, ledgered, tmp_path)

    def repeat(files):
        first = files["receipts.jsonl"].decode().splitlines()[0]
        doctored = json.loads(first)
        doctored.update(best_score=0.0001, engine="another-engine", watchlist_hash="0" * 64)
        files["receipts.jsonl"] = (first + "\n" + json.dumps(doctored) + "\n").encode()

    _rewrite(path, repeat)
    status, report = _verify(path)
    assert status == 1 and "does not match a deletion event, or repeats one" in report


def test_a_widened_range_fails_at_once(actors, ledgered, tmp_path):
    path = _bundle(actors, ledgered, tmp_path)

    def widen(files):
        signed = json.loads(files["scope.json"])
        signed["statement"]["last_seq"] = 10**10
        files["scope.json"] = json.dumps(signed).encode()

    _rewrite(path, widen)
    done = subprocess.run(
        [sys.executable, "-I", "apps/audit/verifier.py", str(path)], capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 1 and b"FAIL  the scope" in done.stdout


def test_a_person_found_not_to_be_the_subject_agrees_everywhere(actors, ledgered, tmp_path):
    alert = Alert.objects.get(pk=ledgered.alert_id)
    alert_handling.adjudicate(actors.officer, alert, match=True, reason="Same person: scar and ears")
    alert_handling.engage(actors.officer, alert, perceived_ethnicity="asian")
    alert_handling.record_alert_outcome(
        actors.officer, alert, outcome=Outcome.FALSE_AFTER_ENGAGEMENT, identity_check="document", stop_minutes=3
    )
    status, report = _verify(_bundle(actors, ledgered, tmp_path))
    figures = PublishedFigures.objects.get(deployment=ledgered)
    (version,) = equality.versions()
    cell = next(c for c in version.groups["perceived_ethnicity"] if c.group == "asian")
    assert status == 0, report
    assert (figures.true_alerts, figures.false_alerts, figures.engagements) == (0, 1, 1)
    assert (cell.true, cell.false) == (0, 1)
    assert "'true_alerts': 0, 'false_alerts': 1, 'engagements': 1" in report
