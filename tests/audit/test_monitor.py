"""The monitor (issue 27, point 4): follows a live Govern log's public checkpoint and tiles, keeps its state in a file,
and reports a bad signature, a gap, or a fork (two trees of one size, or a tree that does not extend the last)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from apps.audit import notes, services, signing, verifier
from apps.audit.models import Checkpoint

VERIFIER = Path(verifier.__file__)


@pytest.fixture
def log(transactional_db, live_server, tmp_path):
    """The live log's URL, its verifier key and a state file; the throttle's counts cleared."""
    cache.clear()
    return live_server.url, notes.VerifierKey.parse(signing.verifier_key()), str(tmp_path / "monitor.json")


def _grow(n: int, note: str = "") -> None:
    for i in range(n):
        services.record("account.update", ("tests.thing", i), None, data={"i": i, "note": note})
    services.sign_checkpoint()


def _failures(results) -> list[str]:
    return [label for label, ok in results if not ok]


def test_the_monitor_follows_the_log_and_keeps_its_state(log):
    url, key, state = log
    _grow(300)
    assert _failures(verifier.monitor(url, [key], state)) == []
    kept = json.loads(Path(state).read_text())
    assert kept["size"] == services.tree_size() and kept["note"].startswith(signing.log_origin())
    assert _failures(verifier.monitor(url, [key], state)) == []  # nothing new: the same root
    _grow(300)  # from the middle of entry bundle 1 to the middle of bundle 2: the partial tiles re-read whole
    results = verifier.monitor(url, [key], state)
    assert _failures(results) == [], results
    assert json.loads(Path(state).read_text())["size"] == services.tree_size()


def test_a_forked_log_two_trees_of_one_size_is_reported(log):
    url, key, state = log
    _grow(40, note="the history shown to the regulator")
    size = services.tree_size()
    assert _failures(verifier.monitor(url, [key], state)) == []
    before = Path(state).read_text()
    # The server now shows another history of the same size: its database rewritten behind the triggers.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("TRUNCATE audit_event, audit_treenode, audit_loghead, audit_checkpoint, audit_cosignature")
    _grow(size, note="the history shown to a court")
    assert services.tree_size() == size
    failures = _failures(verifier.monitor(url, [key], state))
    assert len(failures) == 1 and failures[0].startswith(f"a fork: two trees of size {size}")
    assert Path(state).read_text() == before  # the verified history is kept
    # Grown past the fork, the new history still does not extend the one verified.
    _grow(5, note="the history shown to a court")
    failures = _failures(verifier.monitor(url, [key], state))
    assert len(failures) == 1 and failures[0].startswith("inconsistent"), failures


def test_a_checkpoint_the_key_did_not_sign_is_reported(log):
    url, _key, state = log
    _grow(3)
    other = notes.VerifierKey.of(signing.log_origin(), b"\x01" * 32)
    failures = _failures(verifier.monitor(url, [other], state))
    assert len(failures) == 1 and "not a note of" in failures[0]
    assert not Path(state).exists()


def test_a_checkpoint_past_the_entries_served_is_a_gap(log):
    url, key, state = log
    _grow(10)
    # A checkpoint of 20 events, properly signed, while the log serves 10.
    root = bytes(32)
    Checkpoint.objects.create(
        tree_size=20,
        root_hash=root,
        timestamp="2026-12-08T00:00:00.000000+00:00",
        signature=signing.sign(notes.Checkpoint(signing.log_origin(), 20, root).text().encode()),
        key_id=signing.key_id(),
        origin=signing.log_origin(),
    )
    failures = _failures(verifier.monitor(url, [key], state))
    assert len(failures) == 1 and "a gap" in failures[0], failures


def test_the_command_and_the_django_free_verifier_monitor_alike(log, tmp_path):
    url, key, state = log
    _grow(5)
    call_command("audit", "monitor", url, "--state", state)
    standalone = tmp_path / "standalone"
    standalone.mkdir()
    for name in ("verifier.py", "notes.py"):
        (standalone / name).write_bytes(VERIFIER.with_name(name).read_bytes())
    command = [sys.executable, "-I", str(standalone / "verifier.py"), "monitor", url, "--key", str(key)]
    ran = subprocess.run([*command, "--state", str(tmp_path / "other.json")], capture_output=True, text=True)
    assert ran.returncode == 0 and "RESULT: OK" in ran.stdout, ran.stdout + ran.stderr
    other = str(notes.VerifierKey.of(signing.log_origin(), b"\x02" * 32))
    ran = subprocess.run(
        [*command[:-1], other, "--state", str(tmp_path / "third.json")], capture_output=True, text=True
    )
    assert ran.returncode == 1 and "RESULT: FAIL" in ran.stdout
    with pytest.raises(CommandError):
        call_command("audit", "monitor", url, "--state", state, "--key", other)
