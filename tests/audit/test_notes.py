"""C2SP signed notes and checkpoints (apps.audit.notes), checked against Go's own test vectors.

The vectors are golang.org/x/mod's sumdb/note/note_test.go (golang/mod at commit
02c991387e35f9e4c0a9b7ce137717055f8d716d): Go's key, its signature of a two-line text, and the notes its Open
accepts and refuses. Ed25519 signing is deterministic, so signing Go's text with Go's private key must give Go's
note byte for byte.
"""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from apps.audit import notes

GO_PRIVATE_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = (
    "\N{EM DASH} PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\N{EM DASH} EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)
# The C2SP tlog-checkpoint example's text.
SOFA = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def _go_signer() -> Ed25519PrivateKey:
    encoded = base64.b64decode(GO_PRIVATE_KEY.split("+", 4)[4])  # PRIVATE+KEY+<name>+<hash>+<base64 key>
    assert encoded[0] == notes.ALGORITHM_ED25519
    return Ed25519PrivateKey.from_private_bytes(encoded[1:])


def _raw(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_the_key_hash_and_verifier_key_are_go_notes():
    public_key = _raw(_go_signer())
    assert notes.key_hash("PeterNeumann", public_key).hex() == "c74f20a3"
    assert str(notes.VerifierKey.of("PeterNeumann", public_key)) == PETER
    assert notes.VerifierKey.parse(PETER).public_key == public_key
    assert notes.VerifierKey.parse(ENOCH).key_hash.hex() == "af0cfe78"


def test_signing_go_s_text_with_go_s_key_gives_go_s_note_byte_for_byte():
    signer = _go_signer()
    note = notes.sign(TEXT, "PeterNeumann", _raw(signer), signer.sign(TEXT.encode()))
    assert str(note) == TEXT + "\n" + PETER_SIG


def test_a_note_opens_with_the_keys_that_signed_it_only():
    peter, enoch = notes.VerifierKey.parse(PETER), notes.VerifierKey.parse(ENOCH)
    both = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert notes.open_note(both, [peter]).text == TEXT
    assert notes.parse(both).verified_by([peter, enoch]) == [peter, enoch]
    with pytest.raises(notes.NoteError, match="no signature by"):
        notes.open_note(TEXT + "\n" + ENOCH_SIG, [peter])
    corrupted = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    assert notes.parse(corrupted).verified_by([peter]) == []
    with pytest.raises(notes.NoteError):
        notes.open_note(TEXT.replace("problem", "solution", 1) + "\n" + PETER_SIG, [peter])


@pytest.mark.parametrize(
    "message",
    [
        # Go's own list of malformed notes (TestOpen's badMsgs), then more than 100 signature lines.
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_malformed_notes_are_refused_as_go_refuses_them(message):
    with pytest.raises(notes.NoteError):
        notes.open_note(message, [notes.VerifierKey.parse(PETER)])


@pytest.mark.parametrize(
    "key",
    [
        # Go's own (TestNewVerifier): a key of the wrong length and an unknown algorithm, each with its hash adjusted.
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        PETER.replace("c74f20a3", "c74f20a4"),
        PETER[:-1],
        PETER.split("+", 1)[1],
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_mangled_verifier_keys_are_refused(key):
    with pytest.raises(notes.NoteError):
        notes.VerifierKey.parse(key)


def test_a_checkpoint_text_reads_and_writes_the_spec_s_example():
    checkpoint = notes.Checkpoint.parse(SOFA)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.text() == SOFA
    assert notes.Checkpoint.parse(SOFA + "an extension line\n") == checkpoint


@pytest.mark.parametrize(
    "text",
    [
        SOFA.replace("20852163", "020852163"),  # a leading zero
        SOFA.replace("20852163", "-1"),
        SOFA.replace("20852163", str(2**64)),
        SOFA.replace("CsUY", "CsU"),  # not 32 bytes
        SOFA.replace("example.com/behind-the-sofa", "example.com/behind the sofa"),
        SOFA.replace("example.com/behind-the-sofa", "example.com/a+b"),
        SOFA + "\n",  # a blank line
        SOFA.rstrip("\n"),
        "example.com/behind-the-sofa\n20852163\n",
    ],
)
def test_malformed_checkpoint_texts_are_refused(text):
    with pytest.raises(notes.NoteError):
        notes.Checkpoint.parse(text)


@pytest.mark.parametrize("origin", ["https://govern.example/audit", "a b", "a+b", "", "é.example/audit", "x" * 256])
def test_an_origin_that_is_no_schema_less_url_is_refused(origin):
    with pytest.raises(notes.NoteError):
        notes.Checkpoint(origin, 1, bytes(32)).text()


def test_a_checkpoint_of_another_log_is_refused():
    signer = _go_signer()
    key = notes.VerifierKey.of("example.com/behind-the-sofa", _raw(signer))
    note = str(notes.sign(SOFA, key.name, key.public_key, signer.sign(SOFA.encode())))
    assert notes.open_checkpoint(note, "example.com/behind-the-sofa", [key])[0].size == 20852163
    with pytest.raises(notes.NoteError, match=r"not 'example\.com/elsewhere'"):
        notes.open_checkpoint(note, "example.com/elsewhere", [key])
