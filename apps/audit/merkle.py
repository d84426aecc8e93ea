"""RFC 6962 / RFC 9162 Merkle tree maths for the audit log (standard library only).

Nodes are addressed as (level, index): the perfect node at level L and index i is the Merkle tree hash of
leaves [i * 2**L, (i + 1) * 2**L); level 0 nodes are the leaf hashes themselves. Proof functions take a
NodeGetter so that callers can serve nodes from storage; ``nodes_needed`` lists the nodes a proof will ask for
so that they can be fetched in one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "NodeGetter",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "nodes_needed",
    "perfect_nodes",
    "range_hash",
    "root_of",
]

HASH_SIZE = 32
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
# Copying a pre-seeded hasher is measurably cheaper than concatenating the prefix for every node in root_of.
_NODE_HASHER = hashlib.sha256(_NODE_PREFIX)

NodeGetter = Callable[[int, int], bytes]


def _check_hash(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray):
        raise ValueError(f"{what} must be {HASH_SIZE} bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")
    return bytes(value)


def _check_count(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must be non-negative, got {value}")
    return value


def _split(n: int) -> int:
    """Return the largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + _check_hash(left, "left hash") + _check_hash(right, "right hash")).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash of a sequence of leaf hashes."""
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    if set(map(len, level)) != {HASH_SIZE}:
        raise ValueError(f"every leaf hash must be {HASH_SIZE} bytes")
    copy = _NODE_HASHER.copy
    while len(level) > 1:
        parents: list[bytes] = []
        append = parents.append
        for left, right in zip(level[0::2], level[1::2], strict=False):
            h = copy()
            h.update(left + right)
            append(h.digest())
        # Carrying the odd last node up unchanged reproduces the RFC 6962 split at the largest power of two.
        if len(level) & 1:
            append(level[-1])
        level = parents
    return level[0]


def perfect_nodes(leaf_hashes: Sequence[bytes]) -> Iterator[tuple[int, int, bytes]]:
    """Yield (level, index, hash) for every perfect node of level >= 1 over the given leaf hashes."""
    level = [_check_hash(h, "leaf hash") for h in leaf_hashes]
    height = 0
    while len(level) > 1:
        height += 1
        level = [node_hash(left, right) for left, right in zip(level[0::2], level[1::2], strict=False)]
        for index, value in enumerate(level):
            yield height, index, value


class CompactRange:
    """The right edge of the tree: the roots of the perfect subtrees that make up [0, size)."""

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None) -> None:
        """Build a compact range from its size and the hashes of its perfect subtrees, largest first."""
        self.size = _check_count(size, "size")
        hashes = [] if hashes is None else list(hashes)
        if len(hashes) != size.bit_count():
            raise ValueError(f"a compact range of size {size} needs {size.bit_count()} hashes, got {len(hashes)}")
        self.hashes = [_check_hash(h, "compact range hash") for h in hashes]

    def __repr__(self) -> str:
        return f"CompactRange(size={self.size}, root={self.root().hex()})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self.size == other.size and self.hashes == other.hashes

    __hash__ = None  # type: ignore[assignment]

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Append one leaf hash and return the perfect nodes (level >= 1) it completed, lowest level first."""
        value = _check_hash(leaf, "leaf hash")
        new_size = self.size + 1
        completed: list[tuple[int, int, bytes]] = []
        level = 0
        pending = self.size
        while pending & 1:
            value = node_hash(self.hashes.pop(), value)
            level += 1
            pending >>= 1
            completed.append((level, (new_size >> level) - 1, value))
        self.hashes.append(value)
        self.size = new_size
        return completed

    def root(self) -> bytes:
        """Return the Merkle tree hash of leaves [0, size)."""
        if not self.hashes:
            return EMPTY_ROOT
        value = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            value = node_hash(left, value)
        return value

    def to_bytes(self) -> bytes:
        """Return the concatenated subtree hashes; the size is stored separately."""
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, blob: bytes) -> CompactRange:
        """Rebuild a compact range from its size and the output of to_bytes."""
        _check_count(size, "size")
        expected = size.bit_count() * HASH_SIZE
        if len(blob) != expected:
            raise ValueError(f"a compact range of size {size} needs {expected} bytes, got {len(blob)}")
        blob = bytes(blob)
        return cls(size, [blob[i : i + HASH_SIZE] for i in range(0, expected, HASH_SIZE)])


def _get(node: NodeGetter, level: int, index: int) -> bytes:
    return _check_hash(node(level, index), f"node ({level}, {index})")


def range_hash(start: int, end: int, node: NodeGetter) -> bytes:
    """Return the Merkle tree hash of leaves [start, end) built from perfect nodes."""
    _check_count(start, "start")
    _check_count(end, "end")
    if end < start:
        raise ValueError(f"range end {end} is before its start {start}")
    if start == end:
        return EMPTY_ROOT
    # [start, end) splits into one perfect node per set bit of its length, largest first; RFC 6962 then folds
    # them from the right, so the result matches the recursive definition.
    parts: list[bytes] = []
    position = start
    for level in range((end - start).bit_length() - 1, -1, -1):
        if (end - start) >> level & 1:
            if position & ((1 << level) - 1):
                raise ValueError(f"range [{start}, {end}) is not aligned as an RFC 6962 subtree")
            parts.append(_get(node, level, position >> level))
            position += 1 << level
    value = parts.pop()
    while parts:
        value = node_hash(parts.pop(), value)
    return value


def inclusion_proof(index: int, size: int, node: NodeGetter) -> list[bytes]:
    """Return the RFC 6962 audit path PATH(index, D[size]), nearest sibling first."""
    _check_count(index, "index")
    _check_count(size, "size")
    if index >= size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    siblings: list[bytes] = []  # collected from the root down, returned leaf up
    offset, n, m = 0, size, index
    while n > 1:
        k = _split(n)
        if m < k:
            siblings.append(range_hash(offset + k, offset + n, node))
            n = k
        else:
            siblings.append(range_hash(offset, offset + k, node))
            offset, n, m = offset + k, n - k, m - k
    siblings.reverse()
    return siblings


def consistency_proof(old_size: int, new_size: int, node: NodeGetter) -> list[bytes]:
    """Return the RFC 6962 consistency proof PROOF(old_size, D[new_size])."""
    _check_count(old_size, "old_size")
    _check_count(new_size, "new_size")
    if old_size > new_size:
        raise ValueError(f"old_size {old_size} is larger than new_size {new_size}")
    if old_size in (0, new_size):
        return []
    appended: list[bytes] = []  # SUBPROOF appends on the way back up, so collect top-down and reverse
    offset, n, m, whole_old_tree = 0, new_size, old_size, True
    while m != n:
        k = _split(n)
        if m <= k:
            appended.append(range_hash(offset + k, offset + n, node))
            n = k
        else:
            appended.append(range_hash(offset, offset + k, node))
            offset, n, m, whole_old_tree = offset + k, n - k, m - k, False
    if not whole_old_tree:
        appended.append(range_hash(offset, offset + m, node))
    appended.reverse()
    return appended


def nodes_needed(fn: Callable[..., object], *args: object) -> set[tuple[int, int]]:
    """Return every (level, index) that fn(*args, node=...) asks its NodeGetter for."""
    requested: set[tuple[int, int]] = set()
    dummy = bytes(HASH_SIZE)

    def recorder(level: int, index: int) -> bytes:
        requested.add((level, index))
        return dummy

    fn(*args, node=recorder)
    return requested
