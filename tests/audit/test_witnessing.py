"""Govern submits its checkpoints to witnesses (two real witness processes on ports): each answer is an event, valid
cosignatures are stored with the checkpoint and published with it; a witness that holds another size is proven from
it, a refusal is logged with the witness's reason, and an unreachable witness is retried."""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from apps.audit import notes, services, signing, tasks, witnessing
from apps.audit.choices import CHECKPOINT_WITNESSED, WitnessOutcome
from apps.audit.models import Checkpoint, Cosignature, Event
from govern import env
from govern.settings.base import _cosigner_key

from .witnesses import HandLog, WitnessProcess, add_checkpoint

pytestmark = pytest.mark.django_db


def _record(n):
    for i in range(n):
        services.record("account.update", ("tests.thing", i), None, data={"i": i})


@pytest.fixture
def witnesses(tmp_path, settings):
    """Two witnesses of this log, configured in Govern, quorum 2."""
    started = []

    def start(name, log_key=None):
        process = WitnessProcess(
            name,
            tmp_path / f"{len(started)}.pem",
            tmp_path / f"{len(started)}.json",
            [log_key or signing.verifier_key()],
        ).start()
        started.append(process)
        return process

    first, second = start("witness.regulator.example/w1"), start("witness.neighbour-police.uk/w")
    settings.AUDIT_WITNESSES = [{"name": p.name, "verifier_key": p.verifier_key, "url": p.url} for p in (first, second)]
    settings.AUDIT_WITNESS_QUORUM = 2
    yield start, first, second
    for process in started:
        process.stop()


def _answers():
    return [event.data for event in Event.objects.filter(action=CHECKPOINT_WITNESSED).order_by("seq")]


def test_each_new_checkpoint_is_cosigned_by_both_witnesses_and_published_with_their_lines(
    witnesses, api, actors, django_capture_on_commit_callbacks
):
    _, first, second = witnesses
    _record(5)
    with django_capture_on_commit_callbacks(execute=True):
        size = tasks.sign_checkpoint()  # signs, then submits at once (on commit)
    checkpoint = Checkpoint.objects.get(tree_size=size)
    assert {c.witness for c in checkpoint.cosignatures.all()} == {first.name, second.name}
    assert [(a["witness"], a["old_size"], a["outcome"], a["status"]) for a in _answers()] == [
        (first.name, 0, WitnessOutcome.COSIGNED, 200),
        (second.name, 0, WitnessOutcome.COSIGNED, 200),
    ]
    # The next checkpoint (which holds those answers) is proven from the size each witness cosigned.
    _record(3)
    with django_capture_on_commit_callbacks(execute=True):
        newer = tasks.sign_checkpoint()
    assert [(a["old_size"], a["outcome"]) for a in _answers()[2:]] == [(size, "cosigned"), (size, "cosigned")]

    published = api(actors.officer).get("/api/audit/checkpoints/latest/").json()
    assert published["tree_size"] == newer and len(published["cosignatures"]) == 2
    keys = [notes.VerifierKey.parse(p.verifier_key) for p in (first, second)]
    log_key = notes.VerifierKey.parse(signing.verifier_key())
    opened = notes.open_note(published["note"], [log_key])  # the log's own signature still opens it
    assert opened.verified_by(keys) == keys
    assert witnessing.witness_latest() == []  # both cosigned it: nothing to submit again
    # The public checkpoint, which monitors read without an account, carries the same cosignatures.
    served = Client().get("/checkpoint")
    assert served.status_code == 200, served.content
    public = notes.open_note(served.content.decode(), [log_key])
    assert public.verified_by(keys) == keys


def test_a_witness_holding_another_size_is_proven_from_it(witnesses):
    start, _, _ = witnesses
    _record(4)
    earlier = services.sign_checkpoint()
    third = start("witness.third.example/w")
    # The witness saw checkpoint 4 from elsewhere (a mirror, another of the force's servers): Govern does not know.
    assert add_checkpoint(third.url, f"old 0\n\n{services.checkpoint_note(earlier)}")[0] == 200
    _record(3)
    services.sign_checkpoint()
    answer = witnessing.submit(
        Checkpoint.objects.latest(),
        services.checkpoint_note(Checkpoint.objects.latest()),
        witnessing.Witness(third.name, notes.VerifierKey.parse(third.verifier_key), third.url),
        witnessing.requests.Session(),
    )
    assert (answer.outcome, answer.old_size) == (WitnessOutcome.COSIGNED, earlier.tree_size)


def test_a_refusal_is_logged_with_the_witnesss_reason_and_stores_nothing(witnesses, settings):
    start, _, _ = witnesses
    stranger = start("witness.stranger.example/w", HandLog(signing.log_origin()).verifier_key)  # trusts another key
    settings.AUDIT_WITNESSES = [{"name": stranger.name, "verifier_key": stranger.verifier_key, "url": stranger.url}]
    _record(2)
    services.sign_checkpoint()
    [answer] = witnessing.witness_latest()
    assert (answer.outcome, answer.status) == (WitnessOutcome.REFUSED, 403)
    assert "no signature" in _answers()[-1]["answer"]
    assert not Cosignature.objects.exists()


def test_an_unreachable_witness_is_logged_and_raised_for_a_retry(witnesses, settings):
    _, first, _ = witnesses
    first_key = notes.VerifierKey.parse(first.verifier_key)
    down = notes.VerifierKey.of("witness.down.example/w", first_key.public_key, notes.ALGORITHM_COSIGNATURE_V1)
    settings.AUDIT_WITNESSES = [
        {"name": first.name, "verifier_key": first.verifier_key, "url": first.url},
        {"name": down.name, "verifier_key": str(down), "url": "http://127.0.0.1:9"},  # nothing listens on port 9
    ]
    _record(2)
    services.sign_checkpoint()
    with pytest.raises(witnessing.WitnessUnreachable, match=r"witness\.down\.example"):
        witnessing.witness_latest()
    assert [a["outcome"] for a in _answers()] == [WitnessOutcome.COSIGNED, WitnessOutcome.UNREACHABLE]
    # The retry asks only the witness that has not cosigned.
    with pytest.raises(witnessing.WitnessUnreachable):
        witnessing.witness_latest()
    assert [a["witness"] for a in _answers()[2:]] == [down.name]
    assert tasks.witness_checkpoint.autoretry_for == (witnessing.WitnessUnreachable,)


def test_witness_settings_are_parsed_strictly(monkeypatch):
    key = str(notes.VerifierKey.of("w.example/w", bytes(32), notes.ALGORITHM_COSIGNATURE_V1))
    log_key = str(notes.VerifierKey.of("w.example/w", bytes(32)))
    monkeypatch.setenv("AUDIT_WITNESSES", f"{key} https://w.example/witness/")
    assert env.witnesses("AUDIT_WITNESSES", _cosigner_key) == [
        {"name": "w.example/w", "verifier_key": key, "url": "https://w.example/witness"}
    ]
    for bad, complaint in [
        (f"{key}", "is not '<verifier key> <URL>'"),
        (f"{log_key} https://w.example", "type 0x01"),
        (f"{key} ftp://w.example", "http"),
        (f"{key} https://a.example, {key} https://b.example", "twice"),
        ("nonsense https://w.example", "not a verifier key"),
    ]:
        monkeypatch.setenv("AUDIT_WITNESSES", bad)
        with pytest.raises(ImproperlyConfigured, match=complaint):
            env.witnesses("AUDIT_WITNESSES", _cosigner_key)
    assert json.dumps(env.witnesses("UNSET_WITNESSES", _cosigner_key)) == "[]"


def _range_bundle(actors, tmp_path):
    from django.utils import timezone

    from apps.oversight import bundles

    start = Event.objects.order_by("seq").first().created_at
    content, _ = bundles.build(actors.oversight, bundles.Scope(start=start, end=timezone.now()))
    path = tmp_path / "bundle.zip"
    path.write_bytes(content)
    return path


def _verify(path, *extra) -> tuple[int, str]:
    import contextlib
    import io

    from apps.audit import verifier

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = verifier.main([str(path), *extra])
    return status, out.getvalue()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # a bundle asks the witnesses only outside a transaction
def test_a_bundle_carries_the_cosigned_checkpoint_and_the_verifier_requires_the_quorum(witnesses, actors, tmp_path):
    _, first, second = witnesses
    _record(4)
    path = _range_bundle(actors, tmp_path)  # its checkpoint is signed for it, and witnessed before it is packed
    status, report = _verify(path)
    assert status == 0, report
    assert "cosigned by 2 of 2 witnesses, quorum 2 (bundled: compare with the witnesses' published keys)" in report
    assert f"{first.name} cosigned at" in report and f"{second.name} cosigned at" in report
    # Pinned to the witnesses the reader trusts: a key the bundle's witnesses do not hold finds no quorum.
    stranger = str(notes.VerifierKey.of("witness.stranger.example/w", bytes(32), notes.ALGORITHM_COSIGNATURE_V1))
    status, report = _verify(path, "--witness", first.verifier_key, "--witness", stranger, "--quorum", "2")
    assert status == 1 and "cosigned by 1 of 2 witnesses, quorum 2 (pinned with --witness)" in report
    assert "witness.stranger.example/w has not cosigned it" in report
    status, report = _verify(path, "--witness", first.verifier_key, "--witness", stranger, "--quorum", "1")
    assert status == 0, report


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # a bundle asks the witnesses only outside a transaction
def test_the_verifier_names_the_witness_that_refused_and_why(witnesses, actors, tmp_path, settings):
    start, first, _ = witnesses
    stranger = start("witness.stranger.example/w", HandLog(signing.log_origin()).verifier_key)  # trusts another key
    settings.AUDIT_WITNESSES = [
        {"name": p.name, "verifier_key": p.verifier_key, "url": p.url} for p in (first, stranger)
    ]
    _record(3)
    status, report = _verify(_range_bundle(actors, tmp_path))
    assert status == 1
    assert "cosigned by 1 of 2 witnesses, quorum 2" in report
    assert f"{stranger.name} refused (403: no signature by a key of {signing.log_origin()}" in report


def test_the_audit_witness_command_submits_now_and_refuses_without_witnesses(witnesses, settings):
    from django.core.management import CommandError, call_command

    _, first, _ = witnesses
    _record(2)
    services.sign_checkpoint()
    out = io.StringIO()
    call_command("audit", "witness", stdout=out)
    assert f"{first.name}: cosigned (200)" in out.getvalue() and "2 cosignatures, quorum 2" in out.getvalue()
    settings.AUDIT_WITNESSES = []
    with pytest.raises(CommandError, match="No witness is configured"):
        call_command("audit", "witness")
