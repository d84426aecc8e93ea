"""The witness program (apps/audit/witness.py, c2sp.org/tlog-witness) run as two real processes on ports, against a log
that forks: one branch is cosigned, the other refused and kept as evidence, and a restarted witness still refuses a
smaller tree. Cosignatures are checked with notes.py (c2sp.org/tlog-cosignature)."""

from __future__ import annotations

import ast
import base64
import hashlib
import subprocess
import sys
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from apps.audit import notes, witness

from .witnesses import ROOT, HandLog, WitnessProcess, add_checkpoint

ORIGIN = "govern.example-police.uk/audit"


@pytest.fixture
def log():
    return HandLog(ORIGIN).append(*(f"event {i}" for i in range(5)))


@pytest.fixture
def two_witnesses(tmp_path, log):
    started = []

    def start(name: str, logs: list[str] | None = None) -> WitnessProcess:
        process = WitnessProcess(name, tmp_path / f"{len(started)}.pem", tmp_path / f"{len(started)}.json", logs or [])
        started.append(process.start())
        return process

    first = start("witness.regulator.example/w1", [log.verifier_key])
    second = start("witness.neighbour-police.uk/w", [log.verifier_key])
    yield first, second
    for process in started:
        process.stop()


def cosigned(process: WitnessProcess, checkpoint: str, answer: str) -> bool:
    """Whether the answer is one cosignature line by this witness over this checkpoint, valid."""
    key = notes.VerifierKey.parse(process.verifier_key)
    lines = notes.signature_lines(answer)
    return len(lines) == 1 and notes.Note(notes.parse(checkpoint).text, tuple(lines)).verified_by([key]) == [key]


def test_cosignature_lines_follow_the_spec_and_verify_only_over_their_checkpoint(log):
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    text = notes.parse(log.checkpoint()).text
    signature = key.sign(f"cosignature/v1\ntime 1679315147\n{text}".encode())
    line = notes.cosignature("witness.example/w1", raw, 1679315147, signature)
    vkey = notes.VerifierKey.of("witness.example/w1", raw, notes.ALGORITHM_COSIGNATURE_V1)
    # The key hash has the cosignature type byte 0x04; the signature field is the time, big-endian, then Ed25519's.
    assert line.key_hash == hashlib.sha256(b"witness.example/w1\n\x04" + raw).digest()[:4]
    assert line.signature[:8] == (1679315147).to_bytes(8, "big") and len(line.signature) == 72
    assert notes.cosignature_time(line.signature) == 1679315147
    assert notes.VerifierKey.parse(str(vkey)) == vkey and base64.b64decode(str(vkey).split("+", 2)[2])[0] == 4
    assert vkey.verify(text, line.signature)
    other = notes.parse(log.append("event 5").checkpoint()).text
    assert not vkey.verify(other, line.signature)
    retimed = (1679315148).to_bytes(8, "big") + line.signature[8:]
    assert not vkey.verify(text, retimed)
    # A log's key (0x01) of the same name and key does not accept a cosignature, nor the reverse.
    assert not notes.VerifierKey.of("witness.example/w1", raw).verify(text, line.signature)


PROBE = "import sys, apps.audit.witness; print(any(m.startswith('django') for m in sys.modules))"


def test_the_witness_program_imports_no_django():
    tree = ast.parse((ROOT / "apps/audit/witness.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.startswith(("django", "govern", "apps"))}
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, apps.audit.witness; print(any(m.startswith('django') for m in sys.modules))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "False"


def test_a_witness_cosigns_a_consistent_log_and_answers_the_specs_refusals(two_witnesses, log):
    first, _ = two_witnesses
    status, _, answer = add_checkpoint(first.url, log.submission(0))
    assert status == 200 and cosigned(first, log.checkpoint(), answer)

    log.append("event 5", "event 6")
    status, _, answer = add_checkpoint(first.url, log.submission(5))
    assert status == 200 and cosigned(first, log.checkpoint(), answer)

    # A stale old size: 409 with the size last cosigned, as text/x.tlog.size.
    log.append("event 7")
    assert add_checkpoint(first.url, log.submission(5)) == (409, "text/x.tlog.size", "7\n")
    # A proof that does not verify: 422.
    wrong = [hashlib.sha256(b"not a node").digest()] * len(log.proof(7))
    assert add_checkpoint(first.url, log.submission(7, wrong))[0] == 422
    # An origin it does not witness: 404; a key it does not trust for a known origin: 403.
    assert add_checkpoint(first.url, HandLog("other.example/log").append("x").submission(0))[0] == 404
    impostor = HandLog(ORIGIN, leaves=list(log.leaves))
    assert add_checkpoint(first.url, impostor.submission(7))[0] == 403
    # An old size above the checkpoint's, or a body that is not a request: 400.
    assert add_checkpoint(first.url, log.submission(9, []))[0] == 400
    assert add_checkpoint(first.url, "old 0\n" + log.checkpoint())[0] == 400
    # None of those moved it: the consistent extension is still cosigned.
    status, _, answer = add_checkpoint(first.url, log.submission(7))
    assert status == 200 and cosigned(first, log.checkpoint(), answer)
    assert first.evidence and all(path.read_text().startswith("# refused 422") for path in first.evidence)


def test_a_forked_log_gets_one_branch_cosigned_and_the_other_refused_with_the_evidence_kept(two_witnesses, log):
    first, second = two_witnesses
    for process in two_witnesses:
        status, _, answer = add_checkpoint(process.url, log.submission(0))
        assert status == 200 and cosigned(process, log.checkpoint(), answer)

    # Two trees of one size: the regulator is shown one, a court the other.
    shown_to_regulator = log.fork(5).append("deployment authorised", "alert judged")
    shown_to_court = log.fork(5).append("deployment authorised", "alert never raised")
    assert shown_to_regulator.root() != shown_to_court.root()

    status, _, answer = add_checkpoint(first.url, shown_to_regulator.submission(5))
    assert status == 200 and cosigned(first, shown_to_regulator.checkpoint(), answer)
    # The other branch, to the same witness: its proof from 5 holds, but the witness is at 7 now...
    assert add_checkpoint(first.url, shown_to_court.submission(5)) == (409, "text/x.tlog.size", "7\n")
    # ...and at 7 it cosigned another root: refused, and the log-signed checkpoint is kept.
    status, _, refusal = add_checkpoint(first.url, shown_to_court.submission(7))
    assert status == 409 and "forked" in refusal
    [kept] = first.evidence
    assert shown_to_court.checkpoint() in kept.read_text()

    # A witness that saw the other branch first cosigns it, and then refuses to extend the first: the two witnesses'
    # cosignatures can never agree on both, which is what a quorum relies on.
    status, _, answer = add_checkpoint(second.url, shown_to_court.submission(5))
    assert status == 200 and cosigned(second, shown_to_court.checkpoint(), answer)
    grown = shown_to_regulator.append("event 7")
    status, _, refusal = add_checkpoint(second.url, grown.submission(7))
    assert status == 422 and "does not verify" in refusal
    [kept] = second.evidence
    assert grown.checkpoint() in kept.read_text()


def test_a_restarted_witness_remembers_what_it_cosigned_and_refuses_a_smaller_tree(two_witnesses, log):
    first, _ = two_witnesses
    log.append("event 5", "event 6")
    assert add_checkpoint(first.url, log.submission(0))[0] == 200
    first.stop()
    first.start()

    smaller = log.fork(5)
    assert add_checkpoint(first.url, smaller.submission(0)) == (409, "text/x.tlog.size", "7\n")
    assert add_checkpoint(first.url, smaller.submission(7, []))[0] == 400  # old above the checkpoint's size
    rewritten = log.fork(6).append("event 6, rewritten")
    assert add_checkpoint(first.url, rewritten.submission(7))[0] == 409
    log.append("event 7")
    status, _, answer = add_checkpoint(first.url, log.submission(7))
    assert status == 200 and cosigned(first, log.checkpoint(), answer)


def test_the_witness_refuses_bad_configuration(tmp_path):
    key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    cosigner = str(notes.VerifierKey.of(ORIGIN, key, notes.ALGORITHM_COSIGNATURE_V1))
    with pytest.raises(SystemExit, match="cosigner"):
        witness.read_log_keys([cosigner])
    with pytest.raises(SystemExit, match="not a verifier key"):
        witness.read_log_keys(["nonsense"])
    (tmp_path / "state.json").write_text('{"format": "something else"}')
    with pytest.raises(RuntimeError, match="not a witness state file"):
        witness.State(tmp_path / "state.json").read()
    key_file = tmp_path / "w.pem"
    assert witness.main(["keygen", "--name", "w.example/w", "--key", str(key_file)]) == 0
    with pytest.raises(SystemExit, match="never replaced"):
        witness.main(["keygen", "--name", "w.example/w", "--key", str(key_file)])


def test_concurrent_submissions_never_roll_the_witness_back(tmp_path, log):
    state = witness.State(tmp_path / "state.json")
    keys = {ORIGIN: [notes.VerifierKey.parse(log.verifier_key)]}
    server = witness.Witness("w.example/w", Ed25519PrivateKey.generate(), keys, state)
    server.add_checkpoint(log.submission(0).encode())
    small = log.fork(5).append("event 5").submission(5).encode()
    big = log.append("event 5", "event 6").submission(5).encode()
    results = []

    def submit(body):
        try:
            server.add_checkpoint(body)
            results.append("cosigned")
        except witness.Refusal as refusal:
            results.append(refusal.status)

    threads = [threading.Thread(target=submit, args=(body,)) for body in (small, big)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, results)) == ["409", "cosigned"]
    assert state.read()[ORIGIN]["size"] in (6, 7)
    assert base64.b64decode(state.read()[ORIGIN]["root"]) in (log.root(6), log.root(7))


def test_the_monitor_fails_a_checkpoint_short_of_its_witness_quorum(log):
    """verifier.witness_quorum, the monitor's cosignature check (`audit monitor --witness ... --quorum N`, and the
    Django-free `verifier.py monitor`): a line per witness, and a failure when fewer than the quorum cosigned."""
    from apps.audit import verifier

    text = notes.parse(log.checkpoint()).text
    keys, lines = [], []
    for name in ("regulator.example/w", "neighbour.example/w"):
        signer = Ed25519PrivateKey.generate()
        raw = signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        keys.append(notes.VerifierKey.of(name, raw, notes.ALGORITHM_COSIGNATURE_V1))
        lines.append(
            notes.cosignature(name, raw, 1_800_000_000, signer.sign(notes.cosignature_message(text, 1_800_000_000)))
        )
    only_first = notes.Note(text, (lines[0],))
    assert [ok for _, ok in verifier.witness_quorum(keys, 1)(only_first)] == [True, True, True]
    report = verifier.witness_quorum(keys, 2)(only_first)
    assert report[-1] == ("1 of 2 witness(es) cosigned; the quorum is 2", False)
    assert "no valid cosignature" in report[1][0] and "cosigned" in report[0][0]
    assert verifier.witness_quorum(keys, 2)(notes.Note(text, tuple(lines)))[-1][1] is True
    refused = subprocess.run(
        [sys.executable, "-I", str(ROOT / "apps/audit/verifier.py"), "monitor", "http://127.0.0.1:9", "--key", "x",
         "--state", "/nonexistent", "--quorum", "1"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert refused.returncode == 2 and "--quorum needs the --witness keys" in refused.stderr
