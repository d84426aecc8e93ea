"""Inclusion and consistency proofs, built from the stored tree nodes with two indexed queries each."""

from dataclasses import dataclass

from . import merkle
from .models import Checkpoint, Event, LogHead, TreeNode


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


def _log_size() -> int:
    return LogHead.objects.filter(pk=1).values_list("size", flat=True).first() or 0


def _fetch(keys: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Every node the proof needs: leaves from the event table, higher levels from the node table."""
    found: dict[tuple[int, int], bytes] = {}
    leaves = [index for level, index in keys if level == 0]
    if leaves:
        for seq, leaf in Event.objects.filter(seq__in=leaves).values_list("seq", "leaf_hash"):
            found[(0, seq)] = bytes(leaf)
    inner = [key for key in keys if key[0] > 0]
    if inner:
        for level, index, value in TreeNode.objects.filter(pk__in=inner).values_list("level", "index", "hash"):
            found[(level, index)] = bytes(value)
    missing = keys - found.keys()
    if missing:
        raise ProofError(f"The log is missing tree nodes {sorted(missing)[:5]}; run `manage.py audit verify`.")
    return found


def _run(fn, *args):
    """Call a merkle proof function with every node it needs fetched in one go."""
    nodes = _fetch(merkle.nodes_needed(fn, *args))
    return fn(*args, node=lambda level, index: nodes[(level, index)])


def _check_size(size: int, log_size: int) -> None:
    if size < 0 or size > log_size:
        raise ProofError(f"Tree size {size} is outside the log (0 to {log_size}).")


def default_size() -> int:
    """The size of the latest signed checkpoint, else the whole log: proofs are most useful against a signature."""
    latest = Checkpoint.objects.order_by("-tree_size").values_list("tree_size", flat=True).first()
    return latest if latest is not None else _log_size()


def root_at(size: int) -> bytes:
    """The Merkle tree hash of the first `size` events."""
    _check_size(size, _log_size())
    if size == 0:
        return merkle.EMPTY_ROOT
    return _run(merkle.range_hash, 0, size)


def inclusion(seq: int, size: int | None = None) -> InclusionProof:
    """The inclusion proof of event `seq` in the tree of `size` events (default: the latest checkpoint)."""
    size = default_size() if size is None else size
    _check_size(size, _log_size())
    if seq < 0 or seq >= size:
        raise ProofError(f"Event {seq} is not in a tree of {size} events.")
    path = _run(merkle.inclusion_proof, seq, size)
    leaf = bytes(Event.objects.values_list("leaf_hash", flat=True).get(seq=seq))
    return InclusionProof(seq, size, leaf, path, root_at(size))


def consistency(first: int, second: int) -> ConsistencyProof:
    """The consistency proof from a tree of `first` events to one of `second` events."""
    log_size = _log_size()
    _check_size(first, log_size)
    _check_size(second, log_size)
    if first > second:
        raise ProofError(f"The first size ({first}) must not exceed the second ({second}).")
    proof = [] if first in (0, second) else _run(merkle.consistency_proof, first, second)
    return ConsistencyProof(first, second, root_at(first), root_at(second), proof)
