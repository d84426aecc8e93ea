"""Secrets: read from files others cannot read, rotated by a command that logs the rotation, never logged themselves.

Each test points the three key files at a fresh directory, so a rotation here never touches the suite's own keys.
"""

import base64
import datetime
import io
import json
import logging
import os
import stat
import subprocess
import sys
import zipfile

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.views.debug import SafeExceptionReporterFilter

from apps.audit import notes, proofs, services, signing, verifier
from apps.audit.choices import KEY_RETIRED, KEY_ROTATED
from apps.audit.models import Checkpoint, Event
from apps.audit.verification import verify
from apps.watchlists import selectors
from apps.watchlists.choices import LegalBasis
from apps.watchlists.models import CustodyImage
from apps.watchlists.services import custody
from govern import encryption, keyfiles
from govern.logging import REDACTED, RedactSecretsFilter
from tests.watchlist_fixtures import make_jpeg

pytestmark = pytest.mark.django_db


def _rotate(secret, *extra, reason="Scheduled annual rotation", actor=None) -> str:
    out = io.StringIO()
    arguments = [secret, "--reason", reason, *extra] + (["--actor", actor.username] if actor else [])
    call_command("rotate_secret", *arguments, stdout=out)
    return out.getvalue()


def _record(n: int) -> None:
    for i in range(n):
        services.record("account.update", ("tests.thing", i), None, data={"i": i})


def _rotations(secret) -> list[Event]:
    return list(Event.objects.filter(action=KEY_ROTATED, target_id=secret).order_by("seq"))


def _files(directory) -> dict[str, bytes]:
    """Every file under the key directory (the current keys, the rings, anything staged)."""
    return {str(path): path.read_bytes() for path in directory.rglob("*") if path.is_file()}


# --- The audit signing key -----------------------------------------------------------------------------------------


def test_signing_rotation_keeps_old_checkpoints_verifying_and_logs_the_hand_over(keys, actors):
    _record(5)
    first = services.sign_checkpoint()
    old_id, old_raw = signing.key_id(), signing.public_key_raw()
    old_pem = signing.key_file().read_bytes()

    output = _rotate("audit-signing", actor=actors.admin)

    new_id = signing.key_id()
    assert new_id != old_id and f"{old_id} -> {new_id}" in output
    (event,) = _rotations("audit-signing")
    assert event.actor_username == "admin" and event.reason == "Scheduled annual rotation"
    assert event.data["old_key_id"] == old_id and event.data["new_key_id"] == new_id
    assert event.data["old_fingerprint"] == signing.fingerprint(old_raw)
    assert bytes.fromhex(event.data["new_public_key"]) == signing.public_key_raw()
    # The old key signed the tree that holds the hand-over; the new key signs what comes after.
    hand_over = Checkpoint.objects.get(tree_size=event.seq + 1)
    assert hand_over.key_id == old_id
    _record(3)
    after = services.sign_checkpoint()
    assert after.key_id == new_id and first.key_id == old_id
    assert set(signing.public_keys()) == {old_id, new_id}
    assert all(old_pem not in content for content in _files(keys).values())  # the old private key is gone

    report = verify()
    assert report.ok, report.problems
    assert report.checkpoints == 3


def test_a_second_rotation_works_and_every_checkpoint_still_verifies(keys):
    ids = [signing.key_id()]
    for _ in range(2):
        _record(2)
        services.sign_checkpoint()
        _rotate("audit-signing")
        ids.append(signing.key_id())
    _record(1)
    services.sign_checkpoint()

    assert len(set(ids)) == 3
    assert next(iter(signing.public_keys())) == ids[-1] and set(signing.public_keys()) == set(ids)
    assert [c.key_id for c in Checkpoint.objects.order_by("tree_size")] == [ids[0], ids[0], ids[1], ids[1], ids[2]]
    assert verify().ok


def test_verify_refuses_a_checkpoint_by_a_key_outside_the_history(keys):
    _record(3)
    checkpoint = services.sign_checkpoint()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE audit_checkpoint SET key_id = 'ffffffffffffffff' WHERE id = %s", [checkpoint.pk])
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")

    report = verify()
    assert any("key history does not hold" in p.message for p in report.problems)


def test_verify_refuses_a_new_key_signing_before_the_log_announced_it(keys):
    _record(3)
    _rotate("audit-signing")
    new_id = signing.key_id()
    # A checkpoint of a tree that ends before the rotation event, signed by the new key: a forged hand-over.
    size = _rotations("audit-signing")[0].seq
    root = proofs.root_at(size)
    timestamp = "2026-01-01T00:00:00.000000+00:00"
    Checkpoint.objects.create(
        tree_size=size,
        root_hash=root,
        timestamp=timestamp,
        signature=signing.sign(notes.Checkpoint(signing.log_origin(), size, root).text().encode()),
        key_id=new_id,
        origin=signing.log_origin(),
    )

    report = verify()
    assert any("before the log held the rotation event" in p.message for p in report.problems)


def test_a_proof_from_before_the_rotation_verifies_offline_with_the_old_key(keys, tmp_path):
    _record(6)
    old = services.sign_checkpoint()
    _rotate("audit-signing")
    _record(2)
    new = services.sign_checkpoint()

    for checkpoint in (old, new):
        out = io.StringIO()
        call_command("audit", "proof", "2", "--tree-size", str(checkpoint.tree_size), stdout=out)
        document = json.loads(out.getvalue())
        assert document["checkpoint"]["key_id"] == checkpoint.key_id
        proof = tmp_path / f"proof-{checkpoint.tree_size}.json"
        proof.write_text(out.getvalue())
        result = subprocess.run([sys.executable, "-I", verifier.__file__, str(proof)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
        assert f"key id {checkpoint.key_id}" in result.stdout

    history = io.StringIO()
    call_command("audit", "public-key", "--history", stdout=history)
    assert set(verifier.public_keys(history.getvalue())) == {old.key_id, new.key_id}


@pytest.mark.slow
def test_an_evidence_bundle_verifies_across_a_rotation(keys, actors, ledgered, tmp_path):
    from apps.oversight import bundles

    services.sign_checkpoint()  # covers the deployment's events: the old key signs it
    old_id = signing.key_id()
    _rotate("audit-signing")
    _record(1)
    services.sign_checkpoint()  # the latest: the new key
    content, manifest = bundles.build(actors.privacy, bundles.Scope(deployment=ledgered))
    path = tmp_path / "bundle.zip"
    path.write_bytes(content)

    results = verifier.verify_bundle(str(path))
    assert all(ok for _, ok in results), [label for label, ok in results if not ok]
    assert any("covering checkpoint" in label and old_id in label for label, _ in results)
    assert set(manifest["key_ids"]) == {old_id, signing.key_id()}
    with zipfile.ZipFile(path) as archive:
        bundled = archive.read("public_key.pem")
    assert set(verifier.public_keys(bundled)) == {old_id, signing.key_id()}
    # Pinned to today's key alone, the checkpoint the old key signed is refused; pinned to the history, it holds.
    assert not all(ok for _, ok in verifier.verify_bundle(str(path), signing.public_key_pem().encode()))
    assert all(ok for _, ok in verifier.verify_bundle(str(path), signing.public_keys_pem().encode()))


# --- The receipt key -----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_receipt_rotation_names_the_key_of_each_receipt_and_keeps_no_old_key(keys, actors, live, vans, astronaut):
    from apps.matching.services import live_capture
    from tests.oversight_fixtures import receipts_only

    receipts_only(live)
    live_capture.capture_frame(vans[0], astronaut)
    old = keyfiles.receipt_key()

    _rotate("receipt", actor=actors.admin)
    live_capture.capture_frame(vans[0], astronaut)

    new = keyfiles.receipt_key()
    assert new.key_id != old.key_id
    deleted = [event.data for event in Event.objects.filter(action="face.deleted").order_by("seq")]
    assert [data["receipt_key"] for data in deleted] == [old.key_id, new.key_id]
    (event,) = _rotations("receipt")
    assert (event.data["old_key_id"], event.data["new_key_id"]) == (old.key_id, new.key_id)
    assert "destroyed" in event.data["old_key"]
    assert all(old.material not in content for content in _files(keys).values())


def test_an_interrupted_rotation_is_completed_not_repeated(keys, monkeypatch):
    old_id = keyfiles.receipt_key().key_id
    real_install = keyfiles.install_staged

    def die(path):
        raise KeyboardInterrupt  # killed after the event committed, before the key file was swapped

    monkeypatch.setattr(keyfiles, "install_staged", die)
    with pytest.raises(KeyboardInterrupt):
        _rotate("receipt")
    assert keyfiles.receipt_key().key_id == old_id  # the current key is still whole and still the old one
    monkeypatch.setattr(keyfiles, "install_staged", real_install)

    output = _rotate("receipt")

    assert "completed the interrupted rotation" in output
    (event,) = _rotations("receipt")
    assert keyfiles.receipt_key().key_id == event.data["new_key_id"] != old_id
    assert not keyfiles.pending_path(keys / "receipt-hmac.key").exists()


def test_a_key_staged_by_a_run_that_died_before_its_event_is_thrown_away(keys):
    old_id = keyfiles.receipt_key().key_id
    keyfiles.stage(keys / "receipt-hmac.key", b"s" * 32)  # no event names it

    _rotate("receipt")

    (event,) = _rotations("receipt")
    assert event.data["old_key_id"] == old_id
    assert keyfiles.receipt_key().key_id == event.data["new_key_id"] != keyfiles.key_id_of(b"s" * 32)


def test_a_rotation_needs_a_reason(keys):
    with pytest.raises(CommandError, match="reason"):
        _rotate("receipt", reason="  ")
    assert not _rotations("receipt")


# --- The image key -------------------------------------------------------------------------------------------------


def _upload(actors, subject, seed):
    return custody.upload_image(
        actors.compiler,
        subject,
        make_jpeg(seed=seed),
        captured_on=datetime.date(2026, 3, 1),
        source_system="Custody suite A",
        legal_basis=LegalBasis.PACE_CUSTODY,
    )


def _plaintexts() -> dict[int, bytes]:
    return {
        image.pk: encryption.decrypt(bytes(image.ciphertext), associated_data=image.associated_data())
        for image in CustodyImage.objects.all()
    }


def _under_the_ring_key() -> None:
    """Every custody image as stored before data keys, under the ring's key: what an image rotation re-encrypts (new
    uploads go under their subject's data key, which a rotation re-wraps instead: tests/security/
    test_crypto_shredding.py)."""
    for image in CustodyImage.objects.all():
        plain = encryption.decrypt(bytes(image.ciphertext), associated_data=image.associated_data())
        legacy = encryption.encrypt(plain, associated_data=image.associated_data())
        CustodyImage.objects.filter(pk=image.pk).update(ciphertext=legacy, key_id=encryption.key_id())


def test_the_encrypted_columns_are_found_in_every_app():
    found = {f"{model._meta.label}.{column}" for model, column in encryption.encrypted_columns()}
    assert found == {
        "watchlists.CustodyImage.ciphertext",
        "matching.Alert.probe_ciphertext",
        "matching.Probe.ciphertext",
    }


def test_image_rotation_re_encrypts_every_image_and_destroys_the_old_key(keys, actors, gallery):
    for seed in range(4):
        _upload(actors, gallery.adult[0], 10 + seed)
    _under_the_ring_key()
    before = _plaintexts()
    old_id = encryption.key_id()

    output = _rotate("image", "--batch-size", "2", actor=actors.admin)

    new_id = encryption.key_id()
    assert new_id != old_id
    assert f"{len(before)} image(s) re-encrypted" in output and f"destroyed retired key {old_id}" in output
    assert _plaintexts() == before
    assert set(CustodyImage.objects.values_list("key_id", flat=True)) == {new_id}
    assert {bytes(blob)[4:12].hex() for blob in CustodyImage.objects.values_list("ciphertext", flat=True)} == {new_id}
    assert encryption.ring_key_ids() == []
    (rotated,) = _rotations("image")
    assert (rotated.data["old_key_id"], rotated.data["new_key_id"]) == (old_id, new_id)
    retired = Event.objects.get(action=KEY_RETIRED)
    assert retired.data == {"secret": "image", "key_id": old_id, "images_under_key": 0}
    new_image = _upload(actors, gallery.adult[0], 99)
    assert _plaintexts()[new_image.pk][:2] == b"\xff\xd8"  # under a data key wrapped by the new ring key


def test_image_re_encryption_killed_mid_way_loses_nothing_and_resumes(keys, actors, gallery, monkeypatch):
    for seed in range(5):
        _upload(actors, gallery.other[0], 20 + seed)
    _under_the_ring_key()
    before = _plaintexts()
    old_id = encryption.key_id()
    real_encrypt, calls = encryption._encrypt, []

    def killed_after_three(key, plaintext, associated_data):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt  # the process dies inside its second batch of two
        return real_encrypt(key, plaintext, associated_data)

    monkeypatch.setattr(encryption, "_encrypt", killed_after_three)
    with pytest.raises(KeyboardInterrupt):
        _rotate("image", "--batch-size", "2")
    monkeypatch.setattr(encryption, "_encrypt", real_encrypt)

    new_id = encryption.key_id()
    under = CustodyImage.objects.values_list("key_id", flat=True)
    assert sorted(under).count(new_id) == 2  # the first batch committed, the second rolled back whole
    assert encryption.ring_key_ids() == [old_id]  # the old key is kept while any image needs it
    assert _plaintexts() == before  # and every image reads, under whichever key it is

    output = _rotate("image", "--resume")

    assert f"{len(before) - 2} image(s) re-encrypted" in output
    assert set(CustodyImage.objects.values_list("key_id", flat=True)) == {new_id}
    assert encryption.ring_key_ids() == [] and _plaintexts() == before
    assert len(_rotations("image")) == 1  # resuming made no new key


def test_a_retired_key_still_in_use_is_kept(keys, actors, gallery, monkeypatch):
    old_id = encryption.key_id()
    _under_the_ring_key()
    monkeypatch.setattr(encryption, "reencrypt", lambda **kwargs: 0)  # as if re-encryption had not run yet

    output = _rotate("image")

    assert f"still kept (images or data keys remain under them): {old_id}" in output
    assert encryption.ring_key_ids() == [old_id] and encryption.images_under(old_id) == 3
    assert not Event.objects.filter(action=KEY_RETIRED).exists()
    assert len(_plaintexts()) == 3


# --- Never logged ----------------------------------------------------------------------------------------------------


def _forms(material: bytes) -> set[str]:
    """The ways a key could be printed: raw text, hex, base64, a bytes literal, each PEM line."""
    forms = {material.hex(), material.hex().upper(), repr(material)}
    for encoded in (base64.b64encode(material), base64.urlsafe_b64encode(material)):
        forms |= {encoded.decode(), encoded.rstrip(b"=").decode()}
    text = material.decode("latin-1")
    forms |= {line.strip() for line in text.splitlines() if "-----" not in line and len(line.strip()) >= 16}
    if text.isprintable():
        forms.add(text)
    return {form for form in forms if len(form) >= 16}


def _all_key_material(directory) -> set[bytes]:
    """Every key file's bytes, and for the signing key its raw private seed."""
    found = set()
    for path, content in _files(directory).items():
        if path.endswith(".pub.pem"):
            continue  # public keys are published
        found.add(content)
        if b"PRIVATE KEY" in content:
            found.add(
                signing.parse_private_key(content).private_bytes(
                    signing.serialization.Encoding.Raw,
                    signing.serialization.PrivateFormat.Raw,
                    signing.serialization.NoEncryption(),
                )
            )
    return found


@pytest.fixture
def every_logger_at_debug(caplog):
    """Every logger at DEBUG, propagating to caplog's handler (undone afterwards)."""
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.propagate, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.propagate = True
        logger.disabled = False
    connection.force_debug_cursor = True  # SQL and its parameters are logged as well
    yield caplog
    connection.force_debug_cursor = False
    for logger, level, propagate, disabled in saved:
        logger.setLevel(level)
        logger.propagate = propagate
        logger.disabled = disabled


@pytest.mark.slow
def test_no_key_material_reaches_a_log_record_or_the_audit_log(
    keys, actors, ledgered, vans, astronaut, every_logger_at_debug
):
    from apps.matching.services import live_capture
    from apps.oversight import bundles

    caplog = every_logger_at_debug
    material = _all_key_material(keys)
    outputs = []
    services.sign_checkpoint()
    image = ledgered.watchlist.entries.first().image
    selectors.image_content(actors.compiler, image, "Checking the enrolment photo")
    for secret in ("audit-signing", "receipt", "image"):
        outputs.append(_rotate(secret, actor=actors.admin))
        material |= _all_key_material(keys)
    live_capture.capture_frame(vans[0], astronaut)
    _record(2)
    services.sign_checkpoint()
    call_command("audit", "verify", stdout=io.StringIO())
    bundles.build(actors.privacy, bundles.Scope(deployment=ledgered))
    try:
        encryption.decrypt(b"GVI1" + b"\x00" * 40, associated_data=b"x")
    except encryption.ImageDecryptionError:
        logging.getLogger("govern.test").exception("a decryption failed")
    material |= _all_key_material(keys) | {m for m in keyfiles.known_material() if len(m) >= 16}

    assert caplog.records, "nothing was logged: the test would prove nothing"
    texts = [record.getMessage() for record in caplog.records]
    texts += [logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info]
    texts += [r.stack_info for r in caplog.records if r.stack_info]
    texts += list(Event.objects.values_list("canonical", flat=True)) + outputs
    haystack = "\n".join(texts)
    needles = set().union(*(_forms(m) for m in material if not m.startswith(b"-----BEGIN PUBLIC")))
    assert needles
    leaked = [needle for needle in needles if needle in haystack]
    assert not leaked, f"key material in the logs: {len(leaked)} form(s)"


def test_the_redaction_filter_blanks_every_form_of_a_key_it_knows(keys):
    receipt = keyfiles.receipt_key().material
    signing.private_key()
    pem = signing.key_file().read_bytes().decode()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("govern.test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.debug("hex %s", receipt.hex())
        logger.debug("base64 %s and bytes %r", base64.b64encode(receipt).decode(), receipt)
        logger.debug("pem %s", pem)
        try:
            raise ValueError(f"bad key {receipt.hex().upper()}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert written.count(REDACTED) >= 5
    assert not any(form in written for form in _forms(receipt) | _forms(pem.encode()))


def test_settings_pages_hide_the_keys(keys, settings):
    signing.private_key()
    keyfiles.receipt_key()
    encryption.key_id()
    safe = SafeExceptionReporterFilter().get_safe_settings()
    assert safe["SECRET_KEY"] != settings.SECRET_KEY
    shown = repr(safe)
    assert settings.SECRET_KEY not in shown
    material = _all_key_material(keys)
    assert not any(form in shown for item in material for form in _forms(item))


# --- Key file permissions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o620, 0o666])
@pytest.mark.parametrize(
    ("setting", "use"),
    [
        ("AUDIT_SIGNING_KEY_FILE", lambda: signing.private_key()),
        ("IMAGE_ENCRYPTION_KEY_FILE", lambda: encryption.key_id()),
        ("RECEIPT_KEY_FILE", lambda: keyfiles.receipt_key()),
    ],
    ids=["audit-signing", "image", "receipt"],
)
def test_a_key_file_others_may_read_or_change_is_refused(keys, settings, setting, use, mode):
    use()  # generated, owner-only
    path = getattr(settings, setting)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(path, mode)

    with pytest.raises(ImproperlyConfigured, match="world-readable or group-writable"):
        use()

    os.chmod(path, 0o640)  # a group that may read (a secrets mount) is fine
    use()
    os.chmod(path, mode)
    settings.DEBUG = True  # development keeps going
    use()


def test_the_system_check_names_every_unsafe_key_file(keys, settings):
    keyfiles.receipt_key()
    encryption.key_id()
    _rotate("audit-signing")
    ring_key = keyfiles.keep_in_ring(keys / "image-encryption.key", "0" * 16, encryption.RING_SUFFIX, b"k" * 32)
    assert keyfiles.check_key_files() == []
    unsafe = [keys / "receipt-hmac.key", ring_key]
    for path in unsafe:
        os.chmod(path, 0o644)
    for path in (keys / "audit-signing-key.pem.keyring").iterdir():
        os.chmod(path, 0o644)  # public keys: not secret

    errors = keyfiles.check_key_files()

    assert [error.id for error in errors] == ["govern.E001"] * 2
    assert all(any(str(path) in error.msg for error in errors) for path in unsafe)


def test_the_rotation_writes_owner_only_files(keys):
    _rotate("audit-signing")
    _rotate("receipt")
    _rotate("image")
    for path in keys.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(signing.key_file().parent.joinpath("image-encryption.key.keyring").stat().st_mode) == 0o700


def test_the_verifier_reads_several_public_keys_from_one_file():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    raws = [signing.raw_public_key(Ed25519PrivateKey.generate()) for _ in range(3)]
    text = "".join(signing.pem_of(raw) for raw in raws)
    assert verifier.public_keys(text) == {verifier.key_id(raw): raw for raw in raws}
    assert verifier.public_keys(raws[0]) == {verifier.key_id(raws[0]): raws[0]}
    with pytest.raises(ValueError):
        verifier.public_keys("not a key")


def _gunicorn(environment) -> subprocess.Popen:
    from django.conf import settings

    from tests.pgcluster import free_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "govern.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=settings.BASE_DIR, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    server.port = port
    return server


@pytest.mark.django_db(databases=[])
def test_gunicorn_refuses_to_serve_with_a_key_file_others_can_read(tmp_path):
    """The server runs the same system checks as manage.py before it serves: a world-readable key stops it."""
    import signal
    import time
    import urllib.request

    from tests.scaling.conftest import govern_environment

    environment = govern_environment(tmp_path, "postgresql://postgres@127.0.0.1:9/unused")  # the checks need no DB
    environment["DJANGO_SETTINGS_MODULE"] = "govern.settings.base"
    server = _gunicorn(environment)  # safe keys first: it serves
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not serve with safe key files"
                time.sleep(0.3)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    os.chmod(environment["RECEIPT_KEY_FILE"], 0o644)
    server = _gunicorn(environment)
    try:
        output = server.communicate(timeout=60)[0].decode()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    assert server.returncode != 0
    assert "govern.E001" in output and "receipt-hmac.key" in output
