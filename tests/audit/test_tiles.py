"""The public log (issue 27, point 2): /checkpoint and the tree as c2sp.org/tlog-tiles, for anyone, read-only,
cacheable, rate-limited, refusing bad paths cleanly, and holding nothing personal in any event type's entry."""

import datetime

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from apps.audit import merkle, notes, registry, services, signing, tiles, verifier
from apps.audit.choices import CONSULTATION_ACTION
from apps.audit.models import Event

pytestmark = pytest.mark.django_db

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()  # the throttle counts requests per address in the cache
    yield
    cache.clear()


def _record(n: int) -> None:
    for i in range(n):
        services.record("account.update", ("tests.thing", i), None, data={"i": i})


def _leaves() -> list[bytes]:
    return [bytes(h) for h in Event.objects.order_by("seq").values_list("leaf_hash", flat=True)]


@pytest.mark.parametrize(
    ("index", "path"), [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")]
)
def test_tile_index_paths_are_written_and_read_as_the_spec_writes_them(index, path):
    assert verifier.tile_index_path(index) == path
    assert verifier.parse_tile_path(f"3/{path}") == (3, index, 256)
    assert verifier.parse_tile_path(f"entries/{path}.p/17") == (None, index, 17)
    assert verifier.tile_path(None, index, 17) == f"tile/entries/{path}.p/17"


@pytest.mark.parametrize(
    "path", ["0/1", "0/0000", "00/000", "64/000", "0/x000/001", "0/000.p/0", "0/000.p/256", "0/000.p/07", "x/000", ""]
)
def test_a_path_that_is_no_tile_is_refused_with_a_400(client, path):
    with pytest.raises(verifier.TilePathError):
        verifier.parse_tile_path(path)
    response = Client().get(f"/tile/{path}")
    assert response.status_code in (400, 404)  # "/tile/" alone matches no route: 404
    assert response.status_code == 400 or path == ""


def test_hash_tiles_are_the_stored_tree_full_ones_for_ever():
    _record(300)
    leaves = _leaves()
    anonymous = Client()
    full = anonymous.get("/tile/0/000")
    assert full.status_code == 200 and full["Cache-Control"] == IMMUTABLE
    assert full.content == b"".join(leaves[:256])
    partial = anonymous.get("/tile/0/001.p/44")
    assert partial.status_code == 200 and "immutable" not in partial["Cache-Control"]
    assert partial.content == b"".join(leaves[256:300])
    assert anonymous.get("/tile/0/001.p/10").content == b"".join(leaves[256:266])  # an older tree's partial tile
    # Level 1 holds the nodes of level 8: the root of the first 256 leaves.
    level_one = anonymous.get("/tile/1/000.p/1")
    assert level_one.status_code == 200 and level_one.content == merkle.root_of(leaves[:256])
    # Beyond the tree: 404, never a 500.
    for path in ("0/001", "0/001.p/45", "0/002.p/1", "1/000.p/2", "2/000.p/1", "entries/001.p/45"):
        assert anonymous.get(f"/tile/{path}").status_code == 404, path
    assert anonymous.post("/tile/0/000").status_code == 405


def test_a_tile_reads_its_hashes_in_one_query(django_assert_max_num_queries):
    _record(257)
    with django_assert_max_num_queries(2):  # the tree's size, then the tile's hashes
        tiles.hash_tile(0, 0, 256)
    with django_assert_max_num_queries(2):
        tiles.hash_tile(1, 0, 1)
    with django_assert_max_num_queries(2):
        tiles.entries(0, 256)


def test_the_checkpoint_is_the_latest_signed_note_for_anyone():
    assert Client().get("/checkpoint").status_code == 404  # none signed yet
    _record(3)
    signed = services.sign_checkpoint()
    response = Client().get("/checkpoint")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert "immutable" not in response["Cache-Control"] and "max-age=10" in response["Cache-Control"]
    key = notes.VerifierKey.parse(signing.verifier_key())
    checkpoint, _ = notes.open_checkpoint(response.content, signing.log_origin(), [key])
    assert (checkpoint.size, checkpoint.root_hash) == (signed.tree_size, bytes(signed.root_hash))
    assert Client().post("/checkpoint").status_code == 405


def test_the_entries_rebuild_the_signed_root():
    _record(5)
    signed = services.sign_checkpoint()
    body = Client().get(f"/tile/entries/000.p/{signed.tree_size}").content
    entries = verifier.read_entry_bundle(body)
    assert len(entries) == signed.tree_size
    leaves = [verifier.public_entry_leaf(entry, seq) for seq, entry in enumerate(entries)]
    assert merkle.root_of(leaves) == bytes(signed.root_hash)


@override_settings(AUDIT_PUBLIC_RATE="3/min")
def test_the_public_log_is_rate_limited_per_address():
    _record(1)
    anonymous = Client()
    assert [anonymous.get("/tile/0/000.p/1").status_code for _ in range(3)] == [200] * 3
    refused = anonymous.get("/checkpoint")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1


# Everything personal a person's event could carry: names, a PNC number, a date of birth, an email, a username, a
# reason. Each is recorded for every registered action type, by a person, in its reason and in its data.
NAME, SURNAME, PNC, BIRTH, EMAIL = "Philippa", "Wrexhamson", "79/123456X", "1979-04-03", "p.wrexhamson@example.org"
USERNAME = "pwrexhamson7"
REASON = f"Consulted because {NAME} {SURNAME} (PNC {PNC}, born {BIRTH}) was reported"
PERSONAL = (NAME, SURNAME, PNC, BIRTH, EMAIL, USERNAME, "Consulted because")


def test_no_event_type_puts_anything_personal_in_the_public_entries(make_user, redaction_floor):
    person = make_user(USERNAME, first_name=NAME, last_name=SURNAME, email=EMAIL)
    data = {"name": f"{NAME} {SURNAME}", "pnc": PNC, "date_of_birth": BIRTH, "email": EMAIL, "username": USERNAME}
    actions = registry.all_actions()
    for action in actions:
        services.record(action.name, person, person, data=data, reason=REASON)
        services.record(action.name, ("tests.thing", 1), None, data=data, reason=REASON)  # the system, with a reason
    # The events published in full: a redaction tombstone, and the log's own origin change.
    redaction_floor(0)
    consulted = services.record_access(person, person, reason=REASON, data=data)
    services.redact_consultations(timezone.now() + datetime.timedelta(seconds=1), limit=10**6, retention_hours=1)
    services.sign_checkpoint()
    with override_settings(AUDIT_LOG_ORIGIN="govern.example-police.uk/audit-renamed"):
        services.sign_checkpoint()
    size = services.tree_size()
    anonymous, published = Client(), []
    for index in range((size + 255) // 256):
        width = min(256, size - index * 256)
        suffix = f".p/{width}" if width < 256 else ""
        body = anonymous.get(f"/tile/entries/{verifier.tile_index_path(index)}{suffix}").content
        for found in PERSONAL:
            assert found.encode() not in body, f"{found!r} is in entry bundle {index}"
        published += verifier.read_entry_bundle(body)
    assert len(published) == size
    # Every entry still stands for its leaf: the entries rebuild the tree.
    assert merkle.root_of([verifier.public_entry_leaf(entry, seq) for seq, entry in enumerate(published)]) == (
        merkle.CompactRange.from_bytes(size, bytes(services._lock_head().frontier)).root()
    )
    in_full = [entry for entry in published if not entry.startswith(verifier.WITHHELD_PREFIX)]
    assert any(entry.startswith(verifier.TOMBSTONE_PREFIX) for entry in in_full), "the tombstone is published"
    assert any(b'"action":"audit.checkpoint_origin_changed"' in entry for entry in in_full)
    assert published[consulted.seq].startswith(verifier.TOMBSTONE_PREFIX)
    withheld = {seq for seq, entry in enumerate(published) if entry.startswith(verifier.WITHHELD_PREFIX)}
    assert len(withheld) >= 2 * len(actions)  # every type, by a person and by the system with a reason
    assert CONSULTATION_ACTION in {a.name for a in actions}
