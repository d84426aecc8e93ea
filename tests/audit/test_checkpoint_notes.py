"""Checkpoints as C2SP signed notes: opened as published by code Govern did not write, the first format still verifying,
the switch between them (and any later change of origin) logged and required by `audit verify`."""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from apps.audit import merkle, notes, services, signing, verifier
from apps.audit.choices import CHECKPOINT_ORIGIN_CHANGED
from apps.audit.models import Checkpoint, Event
from apps.audit.verification import verify

from .first_format import sign_first_format_checkpoint

pytestmark = pytest.mark.django_db

ORIGIN = "testserver/audit"  # the default: the first of the test settings' ALLOWED_HOSTS, with /audit


def _record(n: int) -> None:
    for i in range(n):
        services.record("account.update", ("tests.thing", i), None, data={"i": i})


def _published(api, actors) -> tuple[dict, dict]:
    """The latest checkpoint and the public key, as the API publishes them."""
    return (
        api(actors.oversight).get("/api/audit/checkpoints/latest/").json(),
        api().get("/api/audit/public-key/").json(),
    )


def test_the_published_checkpoint_opens_with_independent_code(actors, api):
    _record(5)
    services.sign_checkpoint()
    checkpoint, published = _published(api, actors)
    # Read by hand, as c2sp.org/signed-note says, with hashlib and `cryptography` only: nothing of Govern's.
    name, key_hash, encoded = published["verifier_key"].split("+", 2)
    key = base64.b64decode(encoded)
    assert name == published["origin"] == checkpoint["origin"] == ORIGIN
    assert key == b"\x01" + bytes.fromhex(published["public_key_raw"])
    assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == key_hash
    text, _, signatures = checkpoint["note"].rpartition("\n\n")
    text += "\n"
    leaves = [bytes(leaf) for leaf in Event.objects.order_by("seq").values_list("leaf_hash", flat=True)]
    root = merkle.root_of(leaves[: checkpoint["tree_size"]])
    assert text == f"{ORIGIN}\n{checkpoint['tree_size']}\n{base64.b64encode(root).decode()}\n"
    assert "time" not in text and checkpoint["timestamp"] not in text  # the note signs no time
    line_name, signed = signatures.removeprefix("\N{EM DASH} ").removesuffix("\n").split(" ")
    signed = base64.b64decode(signed)
    assert line_name == name and signed[:4].hex() == key_hash
    Ed25519PublicKey.from_public_bytes(key[1:]).verify(signed[4:], text.encode())  # raises if it does not verify


def _x_mod_source(tmp_path: Path) -> str | None:
    """A golang.org/x/mod source tree: GOVERN_GO_X_MOD names one, else the Go module proxy gives one."""
    named = os.environ.get("GOVERN_GO_X_MOD")
    if named:
        return named
    fetched = subprocess.run(
        ["go", "mod", "download", "-json", "golang.org/x/mod@v0.17.0"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    return json.loads(fetched.stdout).get("Dir") if fetched.returncode == 0 else None


GO_OPEN = """package main

import (
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"
)

// Opens a signed note with a verifier key, as Go's checksum database client does, and prints its text.
func main() {
	key, _ := os.ReadFile(os.Args[1])
	msg, _ := os.ReadFile(os.Args[2])
	verifier, err := note.NewVerifier(string(key))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Print(n.Text)
}
"""


def test_go_s_note_open_opens_the_published_checkpoint(actors, api, tmp_path):
    if shutil.which("go") is None:
        pytest.skip("Go is not installed here (Debian: golang-go); the note_test.go vectors in test_notes.py stand in")
    source = _x_mod_source(tmp_path)
    if source is None:
        pytest.skip("golang.org/x/mod is unreachable (no module proxy) and GOVERN_GO_X_MOD names no source tree of it")
    _record(3)
    services.sign_checkpoint()
    checkpoint, published = _published(api, actors)
    program = tmp_path / "opennote"
    program.mkdir()
    (program / "main.go").write_text(GO_OPEN)
    (program / "go.mod").write_text(
        f"module opennote\n\ngo 1.19\n\nrequire golang.org/x/mod v0.0.0\n\nreplace golang.org/x/mod => {source}\n"
    )
    environment = os.environ | {"GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local"}
    built = subprocess.run(["go", "build", "-o", "opennote", "."], cwd=program, env=environment,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert built.returncode == 0, built.stderr
    (tmp_path / "key").write_text(published["verifier_key"])
    (tmp_path / "note").write_text(checkpoint["note"])
    opened = subprocess.run([program / "opennote", tmp_path / "key", tmp_path / "note"], capture_output=True, text=True)
    assert opened.returncode == 0, opened.stderr
    root = base64.b64encode(bytes.fromhex(checkpoint["root_hash"])).decode()
    assert opened.stdout == f"{ORIGIN}\n{checkpoint['tree_size']}\n{root}\n"

    (tmp_path / "note").write_text(checkpoint["note"].replace(f"\n{checkpoint['tree_size']}\n", "\n999\n", 1))
    forged = subprocess.run([program / "opennote", tmp_path / "key", tmp_path / "note"], capture_output=True, text=True)
    assert forged.returncode == 1 and "invalid signature" in forged.stderr


def test_first_format_checkpoints_still_verify_and_the_switch_is_logged_once():
    _record(3)
    old = sign_first_format_checkpoint()
    assert old.origin == ""
    _record(2)
    new = services.sign_checkpoint()
    switch = Event.objects.get(action=CHECKPOINT_ORIGIN_CHANGED)
    assert old.tree_size <= switch.seq < new.tree_size  # the first note holds its own announcement
    assert switch.data["to"] == new.origin == ORIGIN and switch.data["from"].startswith(verifier.CHECKPOINT_ORIGIN)
    assert switch.data["verifier_key"] == signing.verifier_key()
    report = verify()
    assert report.ok, report.problems
    assert report.checkpoints == 2
    _record(1)
    services.sign_checkpoint()
    assert Event.objects.filter(action=CHECKPOINT_ORIGIN_CHANGED).count() == 1  # same origin: nothing to announce
    assert services.checkpoint_note(old) is None  # the first format is no signed note
    published_key = notes.VerifierKey.parse(signing.verifier_key())
    assert notes.open_checkpoint(services.checkpoint_note(new), ORIGIN, [published_key])[0].size == new.tree_size


def test_a_first_format_checkpoint_s_time_is_still_signed():
    _record(3)
    old = sign_first_format_checkpoint()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE audit_checkpoint SET timestamp = '2020-01-01T00:00:00.000000+00:00' WHERE id = %s", [old.pk]
        )
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    assert any("signature does not verify" in problem.message for problem in verify().problems)


def test_verify_refuses_a_change_of_origin_the_log_does_not_record():
    _record(3)
    sign_first_format_checkpoint()
    _record(2)
    size = services.tree_size()
    root = merkle.root_of([bytes(leaf) for leaf in Event.objects.order_by("seq").values_list("leaf_hash", flat=True)])
    # Signed with the log's key, but behind the service's back: no event announces the new origin.
    Checkpoint.objects.create(
        tree_size=size, root_hash=root, timestamp=services.format_time(services.timezone.now()),
        key_id=signing.key_id(), origin=ORIGIN,
        signature=signing.sign(notes.Checkpoint(ORIGIN, size, root).text().encode()),
    )  # fmt: skip
    problems = [problem.message for problem in verify().problems]
    assert len(problems) == 1 and f"no {CHECKPOINT_ORIGIN_CHANGED} event" in problems[0], problems


def test_a_force_renaming_its_log_is_logged_and_its_checkpoints_carry_the_new_name():
    _record(2)
    first = services.sign_checkpoint()
    assert not Event.objects.filter(action=CHECKPOINT_ORIGIN_CHANGED).exists()  # a new log has nothing to switch from
    with override_settings(AUDIT_LOG_ORIGIN="govern.example-police.uk/audit"):
        second = services.sign_checkpoint()  # nothing appended since, yet the new name is announced and signed
        assert second.tree_size == first.tree_size + 1 and second.origin == "govern.example-police.uk/audit"
        switch = Event.objects.get(action=CHECKPOINT_ORIGIN_CHANGED)
        assert (switch.data["from"], switch.data["to"]) == (ORIGIN, second.origin)
        assert verify().ok


def test_the_commands_print_the_verifier_key_and_the_signed_note():
    _record(2)
    out = StringIO()
    call_command("audit", "public-key", "--verifier-key", stdout=out)
    key = notes.VerifierKey.parse(out.getvalue())
    assert key.name == ORIGIN and key.public_key == signing.public_key_raw()
    out = StringIO()
    call_command("audit", "checkpoint", "--note", stdout=out)
    checkpoint, _ = notes.open_checkpoint(out.getvalue(), ORIGIN, [key])
    assert checkpoint.size == services.tree_size()


def test_the_standalone_verifier_checks_proofs_against_either_format(tmp_path):
    _record(4)
    old = sign_first_format_checkpoint()
    _record(3)
    new = services.sign_checkpoint()
    shutil.copy(Path(verifier.__file__), tmp_path / "verifier.py")
    shutil.copy(Path(verifier.__file__).with_name("notes.py"), tmp_path / "notes.py")
    for size, form in ((old.tree_size, "first format"), (new.tree_size, "C2SP signed note")):
        out = StringIO()
        call_command("audit", "proof", "2", "--tree-size", str(size), stdout=out)
        (tmp_path / "proof.json").write_text(out.getvalue())
        result = subprocess.run([sys.executable, "-I", str(tmp_path / "verifier.py"), str(tmp_path / "proof.json")],
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert result.returncode == 0 and form in result.stdout, result.stdout + result.stderr
    document = json.loads(out.getvalue())
    document["checkpoint"]["note"] = document["checkpoint"]["note"].replace(ORIGIN, "elsewhere.example/audit")
    (tmp_path / "proof.json").write_text(json.dumps(document))
    result = subprocess.run([sys.executable, "-I", str(tmp_path / "verifier.py"), str(tmp_path / "proof.json")],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1 and "FAIL  checkpoint signature" in result.stdout
