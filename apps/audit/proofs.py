"""Inclusion and consistency proofs, built from the stored tree nodes with two indexed queries each."""

from dataclasses import dataclass

from django.db import connection

from . import merkle


class ProofError(ValueError):
    """A proof was asked for sizes or positions the log cannot answer."""


@dataclass(frozen=True)
class InclusionProof:
    """PATH(m, D[n]) for one event, with the root it leads to."""

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    audit_path: list[bytes]
    root_hash: bytes


@dataclass(frozen=True)
class ConsistencyProof:
    """PROOF(m, D[n]) between two tree sizes, with both roots."""

    first: int
    second: int
    first_root: bytes
    second_root: bytes
    proof: list[bytes]


_NODES = (
    "SELECT 0, seq, leaf_hash FROM audit_event WHERE seq = ANY(%s::bigint[]) UNION ALL "
    'SELECT t.level, t."index", t.hash FROM audit_treenode t '
    'JOIN unnest(%s::smallint[], %s::bigint[]) AS k(level, idx) ON t.level = k.level AND t."index" = k.idx'
)


def _sizes(cursor) -> tuple[int, int | None]:
    """The log's size and the latest checkpoint's, in one query."""
    cursor.execute(
        "SELECT (SELECT size FROM audit_loghead WHERE id = 1), (SELECT max(tree_size) FROM audit_checkpoint)"
    )
    log_size, latest = cursor.fetchone()
    return log_size or 0, latest


def _fetch(cursor, keys: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Every node a proof needs, leaves and stored inner nodes together, in one query."""
    if not keys:
        return {}
    leaves = [index for level, index in keys if level == 0]
    inner = [key for key in keys if key[0] > 0]
    cursor.execute(_NODES, [leaves, [level for level, _ in inner], [index for _, index in inner]])
    found = {(level, index): bytes(value) for level, index, value in cursor.fetchall()}
    missing = keys - found.keys()
    if missing:
        raise ProofError(f"The log is missing tree nodes {sorted(missing)[:5]}; run `manage.py audit verify`.")
    return found


def _check_size(size: int, log_size: int) -> None:
    if size < 0 or size > log_size:
        raise ProofError(f"Tree size {size} is outside the log (0 to {log_size}).")


def _root_keys(size: int) -> set[tuple[int, int]]:
    return merkle.nodes_needed(merkle.range_hash, 0, size) if size else set()


def _root(size: int, node) -> bytes:
    return merkle.range_hash(0, size, node) if size else merkle.EMPTY_ROOT


def default_size() -> int:
    """The size of the latest signed checkpoint, else the whole log: proofs are most useful against a signature."""
    with connection.cursor() as cursor:
        log_size, latest = _sizes(cursor)
    return latest if latest is not None else log_size


def root_at(size: int) -> bytes:
    """The Merkle tree hash of the first `size` events."""
    with connection.cursor() as cursor:
        _check_size(size, _sizes(cursor)[0])
        nodes = _fetch(cursor, _root_keys(size))
    return _root(size, lambda level, index: nodes[(level, index)])


def inclusion(seq: int, size: int | None = None) -> InclusionProof:
    """The inclusion proof of event `seq` in the tree of `size` events (default: the latest checkpoint)."""
    with connection.cursor() as cursor:
        log_size, latest = _sizes(cursor)
        if size is None:
            size = latest if latest is not None else log_size
        _check_size(size, log_size)
        if seq < 0 or seq >= size:
            raise ProofError(f"Event {seq} is not in a tree of {size} events.")
        keys = merkle.nodes_needed(merkle.inclusion_proof, seq, size) | _root_keys(size) | {(0, seq)}
        nodes = _fetch(cursor, keys)

    def node(level: int, index: int) -> bytes:
        return nodes[(level, index)]

    return InclusionProof(seq, size, nodes[(0, seq)], merkle.inclusion_proof(seq, size, node), _root(size, node))


def consistency(first: int, second: int) -> ConsistencyProof:
    """The consistency proof from a tree of `first` events to one of `second` events."""
    with connection.cursor() as cursor:
        log_size, _ = _sizes(cursor)
        _check_size(first, log_size)
        _check_size(second, log_size)
        if first > second:
            raise ProofError(f"The first size ({first}) must not exceed the second ({second}).")
        keys = _root_keys(first) | _root_keys(second)
        if first not in (0, second):
            keys |= merkle.nodes_needed(merkle.consistency_proof, first, second)
        nodes = _fetch(cursor, keys)

    def node(level: int, index: int) -> bytes:
        return nodes[(level, index)]

    proof = [] if first in (0, second) else merkle.consistency_proof(first, second, node)
    return ConsistencyProof(first, second, _root(first, node), _root(second, node), proof)
