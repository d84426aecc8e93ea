"""Evidence bundles: the offline verifier accepts an untouched bundle and names what was changed in one."""

import base64
import io
import json
import subprocess
import sys
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.urls import reverse

from apps.audit import verifier
from apps.audit.models import Event
from apps.oversight import bundles

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def bundle(actors, ledgered, tmp_path):
    content, manifest = bundles.build(actors.privacy, bundles.Scope(deployment=ledgered))
    path = tmp_path / "bundle.zip"
    path.write_bytes(content)
    return path, manifest


def _verify(path, *extra) -> tuple[int, str]:
    out = io.StringIO()
    sys.stdout, saved = out, sys.stdout
    try:
        status = verifier.main([str(path), *extra])
    finally:
        sys.stdout = saved
    return status, out.getvalue()


def _rewrite(path, change) -> None:
    """Rewrite the bundle with `change(files)` applied, keeping the manifest's hashes honest (a careful forger)."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    change(files)
    manifest = json.loads(files["manifest.json"])
    import hashlib

    manifest["files"] = {name: hashlib.sha256(files[name]).hexdigest() for name in manifest["files"]}
    files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)


def _lines(files):
    return files["events.jsonl"].decode().splitlines()


def test_an_untouched_bundle_verifies(bundle, ledgered):
    path, manifest = bundle
    status, report = _verify(path)
    assert status == 0, report
    assert (
        f"deployment {ledgered.reference}: faces 3 in 3 tracks = alerts 1 + sightings 0 + receipts 2" in report
        and "RESULT: OK" in report
    )
    assert manifest["ledger"] == {"faces": 3, "tracks": 3, "alerts": 1, "sightings": 0, "receipts": 2}
    assert Event.objects.filter(action="bundle.exported", target_id=str(ledgered.pk)).count() == 1


def _seq_of(line: str) -> int:
    return json.loads(line)["seq"]


def test_a_changed_byte_in_any_event_fails_with_its_sequence_number(bundle):
    path, manifest = bundle
    victim = manifest["first_seq"] + 2

    def change(files):
        lines = _lines(files)
        index = victim - manifest["first_seq"]
        lines[index] = lines[index].replace('"actor":"', '"actor":"X', 1)
        files["events.jsonl"] = ("\n".join(lines) + "\n").encode()

    _rewrite(path, change)
    status, report = _verify(path)
    assert status == 1 and f"event {victim}: its inclusion proof fails" in report


def test_a_removed_event_fails_with_its_sequence_number(bundle):
    path, manifest = bundle
    victim = manifest["first_seq"] + 3

    def change(files):
        lines = [line for line in _lines(files) if _seq_of(line) != victim]
        files["events.jsonl"] = ("\n".join(lines) + "\n").encode()

    _rewrite(path, change)
    status, report = _verify(path)
    assert status == 1 and f"event {victim} is missing" in report


def test_two_swapped_events_fail(bundle):
    path, manifest = bundle
    a, b = manifest["first_seq"] + 1, manifest["first_seq"] + 2

    def change(files):
        lines = _lines(files)
        lines[1], lines[2] = lines[2], lines[1]
        files["events.jsonl"] = ("\n".join(lines) + "\n").encode()

    _rewrite(path, change)
    status, report = _verify(path)
    assert status == 1 and f"event {a} comes after event {b}" in report


def test_a_checkpoint_signed_by_another_key_fails(bundle):
    path, _ = bundle
    other = Ed25519PrivateKey.generate()

    def change(files):
        checkpoints = json.loads(files["checkpoints.json"])
        covering = checkpoints["covering"]
        message = verifier.checkpoint_message(
            covering["tree_size"], bytes.fromhex(covering["root_hash"]), covering["timestamp"]
        )
        covering["signature"] = base64.b64encode(other.sign(message)).decode()
        files["checkpoints.json"] = json.dumps(checkpoints).encode()

    _rewrite(path, change)
    status, report = _verify(path)
    assert status == 1 and "FAIL  covering checkpoint" in report


def test_a_pinned_key_other_than_the_bundled_one_fails(bundle, tmp_path):
    path, _ = bundle
    from cryptography.hazmat.primitives import serialization

    pem = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (tmp_path / "published.pem").write_bytes(pem)
    status, report = _verify(path, "--public-key", str(tmp_path / "published.pem"))
    assert status == 1 and "pinned with --public-key" in report


def test_a_receipt_count_that_does_not_reconcile_fails(bundle, ledgered):
    path, _ = bundle

    def change(files):
        receipts = files["receipts.jsonl"].decode().splitlines()
        files["receipts.jsonl"] = ("\n".join(receipts[1:]) + "\n").encode()

    _rewrite(path, change)
    status, report = _verify(path)
    assert status == 1 and "1 deletion receipts in the bundle for 2 deletion events" in report


def test_a_forged_ledger_in_the_events_fails(bundle):
    path, _ = bundle

    def change(files):
        # Claim one more face in a capture: the event no longer matches its proof, and faces no longer reconcile.
        lines = _lines(files)
        index = next(i for i, line in enumerate(lines) if '"action":"capture.processed"' in line)
        lines[index] = lines[index].replace('"faces":1', '"faces":2', 1)
        files["events.jsonl"] = ("\n".join(lines) + "\n").encode()

    _rewrite(path, change)
    status, report = _verify(path)
    assert status == 1 and "faces 4 != faces in alerted tracks 1 + in deleted tracks 2" in report
    assert "tracks 4 != alerts 1 + sightings 0 + deletion events 2" in report  # a frame's face is a track


def test_the_verifier_runs_in_a_fresh_venv_with_only_cryptography(bundle, tmp_path):
    path, _ = bundle
    with zipfile.ZipFile(path) as archive:
        archive.extract("verify_bundle.py", tmp_path)
        archive.extract("notes.py", tmp_path)
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "cryptography"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True)
    assert "django" not in listed.stdout.lower()
    run = subprocess.run(
        [str(python), "-I", str(tmp_path / "verify_bundle.py"), str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "RESULT: OK" in run.stdout


def test_privacy_and_oversight_download_bundles_others_may_not(actors, ledgered, client):
    url = reverse("oversight:deployment-bundle", args=[ledgered.pk])
    for user in (actors.privacy, actors.oversight):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/zip"
        assert zipfile.ZipFile(io.BytesIO(response.content)).read("verify_bundle.py").startswith(b'"""Standalone')
    for user in (actors.officer, actors.compiler, actors.retail, actors.admin):
        client.force_login(user)
        assert client.get(url).status_code == 403


def test_a_range_bundle_covers_every_event_in_the_range(actors, ledgered, client):
    from django.utils import timezone

    start = Event.objects.order_by("seq").first().created_at
    end = timezone.now()
    content, manifest = bundles.build(actors.oversight, bundles.Scope(start=start, end=end))
    assert manifest["first_seq"] == 0 and "ledger" not in manifest
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert len(archive.read("events.jsonl").splitlines()) == manifest["events"]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 33, 100])
def test_checking_many_proofs_at_once_agrees_with_checking_each(size):
    import hashlib

    from apps.audit import merkle

    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(size)]
    nodes = {(0, i): leaf for i, leaf in enumerate(leaves)}
    nodes.update({(level, index): value for level, index, value in merkle.perfect_nodes(leaves)})
    root = merkle.root_of(leaves)
    proofs = [(i, leaves[i], merkle.inclusion_proof(i, size, lambda lv, ix: nodes[(lv, ix)])) for i in range(size)]
    assert verifier.verify_inclusions(size, root, proofs) == []
    for victim in {0, size // 2, size - 1}:
        index, leaf, path = proofs[victim]
        flipped = bytes([leaf[0] ^ 1]) + leaf[1:]
        tampered = [*proofs[:victim], (index, flipped, path), *proofs[victim + 1 :]]
        assert verifier.verify_inclusions(size, root, tampered) == [victim]
        if path:  # the sibling nearest the root, bent, on a proof checked alone
            bent = [*path[:-1], bytes([path[-1][0] ^ 1]) + path[-1][1:]]
            assert verifier.verify_inclusions(size, root, [(index, leaf, bent)]) == [victim]


def test_a_bundle_covered_by_a_first_format_checkpoint_verifies_beside_a_signed_note(actors, ledgered, tmp_path):
    from apps.audit import services
    from tests.audit.first_format import sign_first_format_checkpoint

    sign_first_format_checkpoint()  # signed before the log took the C2SP note format
    services.record("account.update", actors.officer, actors.admin, data={"unit": "B"})
    services.sign_checkpoint()  # the first note, announcing the switch
    content, _ = bundles.build(actors.privacy, bundles.Scope(deployment=ledgered))
    checkpoints = json.loads(zipfile.ZipFile(io.BytesIO(content)).read("checkpoints.json"))
    assert "origin" not in checkpoints["covering"] and checkpoints["latest"]["origin"] == "testserver/audit"
    path = tmp_path / "bundle.zip"
    path.write_bytes(content)
    status, report = _verify(path)
    assert status == 0, report
    assert "first format with its timestamp signed" in report and "a C2SP signed note of log testserver/audit" in report
