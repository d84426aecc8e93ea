"""The log as c2sp.org/tlog-tiles serves it to anyone: hash tiles read from the stored tree, and entry bundles of the
events' public entries, so monitors and witnesses need no account.

A tile is read in one indexed query: level-0 hashes are the events' leaf hashes, a level-L tile's are the stored
nodes of level 8L (models.TreeNode), so nothing is recomputed. An event's public entry is its canonical text, as the
log hashes it, only when that text holds nothing personal; otherwise the entry is withheld: its position and leaf hash
only (what verifier.public_entry_leaf reads). Every event a person made names them (`actor`), and a reason is free
text that may name anyone, so those are withheld whatever their action. Published in full: redaction tombstones
(the database blanked them, migration 0005) and the events of PUBLISHED_IN_FULL that the system made without a
reason, whose data the log's own code writes from keys, hashes and its origin.
"""

from django.db import connection

from . import services, verifier, witnessing
from .choices import CHECKPOINT_ORIGIN_CHANGED, REDACTED_PREFIX
from .models import Checkpoint

TILE_WIDTH = verifier.TILE_WIDTH
PUBLISHED_IN_FULL = frozenset({CHECKPOINT_ORIGIN_CHANGED})
WITHHELD = "personal data: a person's name or a free-text reason (ask the force for an evidence bundle)"

_LEAVES_SQL = "SELECT leaf_hash FROM audit_event WHERE seq >= %s AND seq < %s ORDER BY seq"
_NODES_SQL = 'SELECT hash FROM audit_treenode WHERE level = %s AND "index" >= %s AND "index" < %s ORDER BY "index"'
# The canonical text only where it may be published: the rest of the bundle never leaves the database.
_ENTRIES_SQL = """
SELECT seq, leaf_hash, CASE WHEN canonical LIKE %s OR (action = ANY(%s) AND actor_username = %s AND reason = '')
    THEN canonical END
FROM audit_event WHERE seq >= %s AND seq < %s ORDER BY seq
"""


class TileMissing(LookupError):
    """The tile lies beyond the tree (or the tree has no checkpoint of its kind yet)."""


def latest_checkpoint_note() -> str:
    """The latest checkpoint signed as a C2SP note, as published, with the witnesses' cosignature lines it got;
    TileMissing before the first."""
    latest = Checkpoint.objects.exclude(origin="").order_by("-tree_size").first()
    note = witnessing.cosigned_note(latest, services.checkpoint_note(latest)) if latest is not None else None
    if note is None:
        raise TileMissing("No checkpoint has been signed as a C2SP note yet.")
    return note


def _within(level: int, index: int, width: int) -> None:
    available = services.tree_size() >> (verifier.TILE_HEIGHT * level)
    if index * TILE_WIDTH + width > available:
        raise TileMissing(f"The tree holds {available} hash(es) at tile level {level}: this tile lies beyond it.")


def _column(sql: str, params: list) -> list[bytes]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [bytes(value) for (value,) in cursor.fetchall()]


def hash_tile(level: int, index: int, width: int) -> bytes:
    """The tile's `width` hashes, 32 bytes each, from the stored leaves (level 0) or nodes; TileMissing past the
    tree."""
    _within(level, index, width)
    first = index * TILE_WIDTH
    if level == 0:
        hashes = _column(_LEAVES_SQL, [first, first + width])
    else:
        hashes = _column(_NODES_SQL, [verifier.TILE_HEIGHT * level, first, first + width])
    if len(hashes) != width:  # the append function stores every node: a shortfall is a damaged database
        raise RuntimeError(f"tile {level}/{index} finds {len(hashes)} of its {width} stored hashes")
    return b"".join(hashes)


def public_entry(seq: int, leaf_hash: bytes, canonical: str | None) -> bytes:
    """An event's public entry: its canonical text where it may be published (and fits a bundle), else withheld."""
    if canonical is not None:
        text = canonical.encode()
        if len(text) <= verifier.MAX_ENTRY_LENGTH:
            return text
    return services.canonical_json({"leaf_hash": leaf_hash.hex(), "seq": seq, "withheld": WITHHELD}).encode()


def entries(index: int, width: int) -> bytes:
    """The entry bundle of events [256 index, 256 index + width); TileMissing past the tree."""
    _within(0, index, width)
    first = index * TILE_WIDTH
    with connection.cursor() as cursor:
        params = [REDACTED_PREFIX + "%", list(PUBLISHED_IN_FULL), services.SYSTEM_ACTOR, first, first + width]
        cursor.execute(_ENTRIES_SQL, params)
        rows = cursor.fetchall()
    if len(rows) != width:
        raise RuntimeError(f"entry bundle {index} finds {len(rows)} of its {width} events")
    return verifier.entry_bundle([public_entry(seq, bytes(leaf), canonical) for seq, leaf, canonical in rows])
