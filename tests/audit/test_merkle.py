"""Tests for the RFC 6962 Merkle tree maths (apps.audit.merkle) and the standalone verifier (apps.audit.verifier)."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.audit import merkle, verifier

AUDIT_DIR = Path(merkle.__file__).resolve().parent
VERIFIER_PATH = AUDIT_DIR / "verifier.py"
MERKLE_PATH = AUDIT_DIR / "merkle.py"
NOTES_PATH = AUDIT_DIR / "notes.py"


def h(hex_string: str) -> bytes:
    return bytes.fromhex(hex_string)


# --- Published test vectors ------------------------------------------------------------------------------------------
# Leaf inputs, node hashes, roots and compact ranges: transparency-dev/merkle testonly/constants.go
# (commit 582a6ad190b6848f1d26f8bf08ddef29955d9db1).
LEAF_DATA = [
    h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]

NODE_HASHES = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

ROOTS = [  # indexed by tree size, 0..8
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

_NH = NODE_HASHES
COMPACT_TREES = [  # CompactTrees(): the compact range hashes for each tree size, 0..8
    [],
    [_NH[0][0]],
    [_NH[1][0]],
    [_NH[1][0], _NH[0][2]],
    [_NH[2][0]],
    [_NH[2][0], _NH[0][4]],
    [_NH[2][0], _NH[1][2]],
    [_NH[2][0], _NH[1][2], _NH[0][6]],
    [_NH[3][0]],
]

# Inclusion proofs as (leaf index, tree size, audit path): transparency-dev/merkle testonly/reference_test.go
# TestRefInclusionProof (commit 141d627eab770a7e9a2514f46a8b6338e6d90874). proof/verify_test.go inclusionProofs
# (commit 02194e9afb6c1d95b5381350007963aa70fff472) holds the same proofs with 1-based leaf numbers.
INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 2, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7")]),
    (1, 2, [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")]),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

# Consistency proofs as (old size, new size, proof): TestRefConsistencyProof in testonly/reference_test.go plus the
# extra 6 -> 7 case from consistencyProofs in proof/verify_test.go (same commits as above).
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")  # from proof/verify_test.go


# --- Helpers ---------------------------------------------------------------------------------------------------------
class Reference:
    """The RFC 6962 section 2.1 definitions written out recursively, to check merkle.py against."""

    def __init__(self, leaf_hashes: list[bytes]) -> None:
        self.leaves = leaf_hashes
        self._cache: dict[tuple[int, int], bytes] = {}

    @staticmethod
    def split(n: int) -> int:
        k = 1
        while k * 2 < n:
            k *= 2
        return k

    def mth(self, lo: int, hi: int) -> bytes:
        key = (lo, hi)
        if key not in self._cache:
            n = hi - lo
            if n == 0:
                value = hashlib.sha256(b"").digest()
            elif n == 1:
                value = self.leaves[lo]
            else:
                k = self.split(n)
                value = hashlib.sha256(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi)).digest()
            self._cache[key] = value
        return self._cache[key]

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = self.split(n)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if whole else [self.mth(lo, hi)]
        k = self.split(n)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, whole), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]

    def consistency(self, m: int, n: int) -> list[bytes]:
        return [] if m in (0, n) else self.subproof(m, 0, n, True)


def all_nodes(leaf_hashes: list[bytes]) -> dict[tuple[int, int], bytes]:
    nodes = {(0, i): value for i, value in enumerate(leaf_hashes)}
    nodes.update({(level, index): value for level, index, value in merkle.perfect_nodes(leaf_hashes)})
    return nodes


def getter(nodes: dict[tuple[int, int], bytes]) -> merkle.NodeGetter:
    return lambda level, index: nodes[(level, index)]


def flip(value: bytes, position: int, mask: int) -> bytes:
    changed = bytearray(value)
    changed[position % len(changed)] ^= mask
    return bytes(changed)


def distinct_leaves(seed: bytes, n: int) -> list[bytes]:
    return [merkle.leaf_hash(seed + i.to_bytes(4, "big")) for i in range(n)]


VECTOR_LEAVES = [merkle.leaf_hash(d) for d in LEAF_DATA]
VECTOR_NODES = all_nodes(VECTOR_LEAVES)

leaf_data_lists = st.lists(st.binary(max_size=12), max_size=300)
masks = st.integers(min_value=1, max_value=255)
slow = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- Known answers ---------------------------------------------------------------------------------------------------
def test_hash_primitives() -> None:
    assert merkle.HASH_SIZE == 32
    assert merkle.EMPTY_ROOT == hashlib.sha256(b"").digest() == ROOTS[0]
    assert merkle.leaf_hash(b"") == verifier.leaf_hash(b"") == NODE_HASHES[0][0]
    assert merkle.node_hash(NODE_HASHES[0][0], NODE_HASHES[0][1]) == NODE_HASHES[1][0]


def test_leaf_hashes_match_vectors() -> None:
    assert NODE_HASHES[0] == VECTOR_LEAVES
    assert [verifier.leaf_hash(d) for d in LEAF_DATA] == NODE_HASHES[0]


@pytest.mark.parametrize("size", range(9))
def test_roots_match_vectors(size: int) -> None:
    assert merkle.root_of(VECTOR_LEAVES[:size]) == ROOTS[size]
    assert merkle.range_hash(0, size, getter(VECTOR_NODES)) == ROOTS[size]
    compact = merkle.CompactRange()
    for leaf in VECTOR_LEAVES[:size]:
        compact.append(leaf)
    assert compact.root() == ROOTS[size]
    assert compact.hashes == COMPACT_TREES[size]


def test_perfect_nodes_match_vectors() -> None:
    expected = [(level, i, value) for level in (1, 2, 3) for i, value in enumerate(NODE_HASHES[level])]
    assert list(merkle.perfect_nodes(VECTOR_LEAVES)) == expected


def test_compact_range_append_reports_vector_nodes() -> None:
    compact = merkle.CompactRange()
    completed = [compact.append(leaf) for leaf in VECTOR_LEAVES]
    assert completed[0] == completed[2] == completed[4] == completed[6] == []
    assert completed[1] == [(1, 0, NODE_HASHES[1][0])]
    assert completed[3] == [(1, 1, NODE_HASHES[1][1]), (2, 0, NODE_HASHES[2][0])]
    assert completed[7] == [(1, 3, NODE_HASHES[1][3]), (2, 1, NODE_HASHES[2][1]), (3, 0, NODE_HASHES[3][0])]


def _corrupt_inclusion(index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes) -> dict[str, tuple]:
    # The probes of corruptInclusionProof in transparency-dev/merkle proof/verify_test.go.
    probes = {
        "index - 1": (index - 1, size, leaf, proof, root),
        "index + 1": (index + 1, size, leaf, proof, root),
        "index ^ 2": (index ^ 2, size, leaf, proof, root),
        "size * 2": (index, size * 2, leaf, proof, root),
        "size // 2": (index, size // 2, leaf, proof, root),
        "wrong leaf": (index, size, b"WrongLeaf", proof, root),
        "empty root": (index, size, leaf, proof, merkle.EMPTY_ROOT),
        "random root": (index, size, leaf, proof, SOME_HASH),
        "trailing garbage": (index, size, leaf, [*proof, b""], root),
        "trailing root": (index, size, leaf, [*proof, root], root),
        "preceding garbage": (index, size, leaf, [b"", *proof], root),
        "preceding root": (index, size, leaf, [root, *proof], root),
    }
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], 0, 8)
        probes[f"proof[{i}] bit 3"] = (index, size, leaf, wrong, root)
    if proof:
        probes["removed component"] = (index, size, leaf, proof[:-1], root)
    if len(proof) > 1:
        probes["inserted component"] = (index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root)
    return probes


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION_VECTORS)
def test_inclusion_vectors(index: int, size: int, expected: list[bytes]) -> None:
    proof = merkle.inclusion_proof(index, size, getter(VECTOR_NODES))
    assert proof == expected
    leaf = VECTOR_LEAVES[index]
    assert verifier.root_from_inclusion_proof(index, size, leaf, expected) == ROOTS[size]
    assert verifier.verify_inclusion(index, size, leaf, expected, ROOTS[size])
    probes = _corrupt_inclusion(index, size, expected, ROOTS[size], leaf)
    assert [name for name, args in probes.items() if verifier.verify_inclusion(*args)] == []


def _corrupt_consistency(m: int, n: int, root1: bytes, root2: bytes, proof: list[bytes]) -> dict[str, tuple]:
    # The probes of corruptConsistencyProof in transparency-dev/merkle proof/verify_test.go.
    probes = {
        "size1 - 1": (m - 1, n, root1, root2, proof),
        "size1 + 1": (m + 1, n, root1, root2, proof),
        "size1 ^ 2": (m ^ 2, n, root1, root2, proof),
        "size2 * 2": (m, n * 2, root1, root2, proof),
        "size2 // 2": (m, n // 2, root1, root2, proof),
        "wrong root1": (m, n, b"WrongRoot", root2, proof),
        "wrong root2": (m, n, root1, b"WrongRoot", proof),
        "swapped roots": (m, n, root2, root1, proof),
        "empty proof": (m, n, root1, root2, []),
        "trailing garbage": (m, n, root1, root2, [*proof, b""]),
        "trailing root1": (m, n, root1, root2, [*proof, root1]),
        "trailing root2": (m, n, root1, root2, [*proof, root2]),
        "preceding garbage": (m, n, root1, root2, [b"", *proof]),
        "preceding root1": (m, n, root1, root2, [root1, *proof]),
        "preceding root2": (m, n, root1, root2, [root2, *proof]),
        "preceding proof[0]": (m, n, root1, root2, [proof[0], *proof]),
        "truncated proof": (m, n, root1, root2, proof[:-1]),
    }
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], 0, 16)
        probes[f"proof[{i}] bit 4"] = (m, n, root1, root2, wrong)
    return probes


@pytest.mark.parametrize(("old_size", "new_size", "expected"), CONSISTENCY_VECTORS)
def test_consistency_vectors(old_size: int, new_size: int, expected: list[bytes]) -> None:
    assert merkle.consistency_proof(old_size, new_size, getter(VECTOR_NODES)) == expected
    assert verifier.verify_consistency(old_size, new_size, ROOTS[old_size], ROOTS[new_size], expected)
    if expected:
        probes = _corrupt_consistency(old_size, new_size, ROOTS[old_size], ROOTS[new_size], expected)
        assert [name for name, args in probes.items() if verifier.verify_consistency(*args)] == []


def test_inclusion_single_entry() -> None:
    # TestVerifyInclusionSingleEntry in proof/verify_test.go: a one-leaf tree's root is its leaf hash.
    leaf = verifier.leaf_hash(b"data")
    assert verifier.verify_inclusion(0, 1, leaf, [], leaf)
    assert not verifier.verify_inclusion(0, 1, b"", [], leaf)
    assert not verifier.verify_inclusion(0, 1, leaf, [], b"")
    assert not verifier.verify_inclusion(0, 1, b"", [], b"")


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_inclusion_rejects_degenerate_input(index: int, size: int) -> None:
    # TestVerifyInclusion in proof/verify_test.go.
    assert not verifier.verify_inclusion(index, size, SOME_HASH, [], b"")
    assert not verifier.verify_inclusion(index, size, b"", [], merkle.EMPTY_ROOT)
    assert not verifier.verify_inclusion(index, size, SOME_HASH, [], merkle.EMPTY_ROOT)


@pytest.mark.parametrize(
    ("old_size", "new_size", "old_root", "new_root", "proof", "ok"),
    [
        # Adapted from TestVerifyConsistency in proof/verify_test.go. Upstream accepts any root for size 0 and any
        # equal byte strings as roots; this verifier also insists on 32-byte roots and SHA-256("") for size 0.
        (0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [], True),
        (0, 0, merkle.EMPTY_ROOT, SOME_HASH, [], False),
        (0, 1, merkle.EMPTY_ROOT, ROOTS[1], [], True),
        (0, 1, SOME_HASH, ROOTS[1], [], False),
        (1, 1, ROOTS[1], ROOTS[1], [], True),
        (1, 1, ROOTS[1], ROOTS[2], [], False),
        (1, 1, b"don't care", b"don't care", [], False),
        (1, 0, ROOTS[1], ROOTS[0], [], False),
        (2, 1, ROOTS[2], ROOTS[1], [], False),
        (1, 2, ROOTS[1], ROOTS[2], [], False),
        (0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [merkle.EMPTY_ROOT], False),
        (0, 1, merkle.EMPTY_ROOT, ROOTS[1], [merkle.EMPTY_ROOT], False),
        (1, 1, ROOTS[1], ROOTS[1], [merkle.EMPTY_ROOT], False),
        (-1, 1, ROOTS[1], ROOTS[1], [], False),
        (1, 2, ROOTS[1], ROOTS[2], "not a list", False),
    ],
)
def test_consistency_edge_cases(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes], ok: bool
) -> None:
    assert verifier.verify_consistency(old_size, new_size, old_root, new_root, proof) is ok


# --- Properties ------------------------------------------------------------------------------------------------------
@given(leaf_data_lists)
@settings(deadline=None)
def test_root_of_matches_rfc_definition(data: list[bytes]) -> None:
    leaves = [merkle.leaf_hash(d) for d in data]
    expected = Reference(leaves).mth(0, len(leaves))
    assert merkle.root_of(leaves) == expected
    assert merkle.range_hash(0, len(leaves), getter(all_nodes(leaves))) == expected


@given(leaf_data_lists)
@slow
def test_compact_range_agrees_with_root_of(data: list[bytes]) -> None:
    leaves = [merkle.leaf_hash(d) for d in data]
    reference = Reference(leaves)
    compact = merkle.CompactRange()
    completed: list[tuple[int, int, bytes]] = []
    for size, leaf in enumerate(leaves, start=1):
        new_nodes = compact.append(leaf)
        assert [level for level, _, _ in new_nodes] == list(range(1, len(new_nodes) + 1))
        completed.extend(new_nodes)
        assert compact.size == size
        assert compact.root() == reference.mth(0, size)
        assert merkle.CompactRange.from_bytes(size, compact.to_bytes()) == compact
    assert compact.root() == merkle.root_of(leaves)
    assert sorted(completed) == sorted(merkle.perfect_nodes(leaves))


@given(leaf_data_lists)
@slow
def test_every_inclusion_proof_verifies(data: list[bytes]) -> None:
    leaves = [merkle.leaf_hash(d) for d in data]
    reference, node, root = Reference(leaves), getter(all_nodes(leaves)), merkle.root_of(leaves)
    for index, leaf in enumerate(leaves):
        proof = merkle.inclusion_proof(index, len(leaves), node)
        assert proof == reference.path(index, 0, len(leaves))
        assert verifier.verify_inclusion(index, len(leaves), leaf, proof, root)


@given(leaf_data_lists)
@slow
def test_every_consistency_proof_verifies(data: list[bytes]) -> None:
    leaves = [merkle.leaf_hash(d) for d in data]
    reference, node, new_root = Reference(leaves), getter(all_nodes(leaves)), merkle.root_of(leaves)
    for old_size in range(len(leaves) + 1):
        proof = merkle.consistency_proof(old_size, len(leaves), node)
        assert proof == reference.consistency(old_size, len(leaves))
        assert verifier.verify_consistency(old_size, len(leaves), reference.mth(0, old_size), new_root, proof)


@given(st.binary(max_size=8), st.data())
@settings(max_examples=300, deadline=None)
def test_tampered_inclusion_fails(seed: bytes, data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 300), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    leaves = distinct_leaves(seed, size)
    leaf, root = leaves[index], merkle.root_of(leaves)
    proof = merkle.inclusion_proof(index, size, getter(all_nodes(leaves)))
    assert verifier.verify_inclusion(index, size, leaf, proof, root)

    position, mask = data.draw(st.integers(0, 31), label="byte"), data.draw(masks, label="mask")
    assert not verifier.verify_inclusion(index, size, flip(leaf, position, mask), proof, root)
    assert not verifier.verify_inclusion(index, size, leaf, proof, flip(root, position, mask))
    for i in range(len(proof)):
        tampered = [*proof[:i], flip(proof[i], position, mask), *proof[i + 1 :]]
        assert not verifier.verify_inclusion(index, size, leaf, tampered, root)

    extra = data.draw(st.binary(min_size=32, max_size=32), label="extra")
    assert not verifier.verify_inclusion(index, size, leaf, [*proof, extra], root)
    for cut in range(len(proof)):
        assert not verifier.verify_inclusion(index, size, leaf, proof[:cut], root)

    if size > 1:
        other_index = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other index")
        assert not verifier.verify_inclusion(other_index, size, leaf, proof, root)
    other_size = data.draw(st.integers(index + 1, 400).filter(lambda n: n != size), label="other size")
    other_root = merkle.root_of(distinct_leaves(seed, other_size))
    assert not verifier.verify_inclusion(index, other_size, leaf, proof, other_root)
    for other_size in (size * 2, size // 2):
        assert not verifier.verify_inclusion(index, other_size, leaf, proof, root)


@given(st.binary(max_size=8), st.data())
@settings(max_examples=300, deadline=None)
def test_tampered_consistency_fails(seed: bytes, data: st.DataObject) -> None:
    new_size = data.draw(st.integers(2, 300), label="new size")
    old_size = data.draw(st.integers(1, new_size - 1), label="old size")
    leaves = distinct_leaves(seed, new_size)
    old_root, new_root = merkle.root_of(leaves[:old_size]), merkle.root_of(leaves)
    proof = merkle.consistency_proof(old_size, new_size, getter(all_nodes(leaves)))
    assert verifier.verify_consistency(old_size, new_size, old_root, new_root, proof)

    position, mask = data.draw(st.integers(0, 31), label="byte"), data.draw(masks, label="mask")
    assert not verifier.verify_consistency(old_size, new_size, flip(old_root, position, mask), new_root, proof)
    assert not verifier.verify_consistency(old_size, new_size, old_root, flip(new_root, position, mask), proof)
    assert not verifier.verify_consistency(old_size, new_size, new_root, old_root, proof)
    for i in range(len(proof)):
        tampered = [*proof[:i], flip(proof[i], position, mask), *proof[i + 1 :]]
        assert not verifier.verify_consistency(old_size, new_size, old_root, new_root, tampered)

    extra = data.draw(st.binary(min_size=32, max_size=32), label="extra")
    assert not verifier.verify_consistency(old_size, new_size, old_root, new_root, [*proof, extra])
    for cut in range(len(proof)):
        assert not verifier.verify_consistency(old_size, new_size, old_root, new_root, proof[:cut])

    if new_size > 2:
        other_old = data.draw(st.integers(1, new_size - 1).filter(lambda m: m != old_size), label="other old")
        other_root = merkle.root_of(leaves[:other_old])
        assert not verifier.verify_consistency(other_old, new_size, other_root, new_root, proof)
    for wrong_old in (old_size - 1, old_size + 1, old_size ^ 2):
        assert not verifier.verify_consistency(wrong_old, new_size, old_root, new_root, proof)
    other_new = data.draw(st.integers(old_size + 1, 400).filter(lambda n: n != new_size), label="other new")
    other_root = merkle.root_of(distinct_leaves(seed, other_new))
    assert not verifier.verify_consistency(old_size, other_new, old_root, other_root, proof)
    for wrong_new in (new_size * 2, new_size // 2):
        assert not verifier.verify_consistency(old_size, wrong_new, old_root, new_root, proof)


@given(st.integers(1, 2**48), st.data())
@settings(max_examples=300, deadline=None)
def test_proofs_need_few_nodes_inside_the_tree(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1), label="index")
    old_size = data.draw(st.integers(0, size), label="old size")
    for needed in (
        merkle.nodes_needed(merkle.inclusion_proof, index, size),
        merkle.nodes_needed(merkle.consistency_proof, old_size, size),
    ):
        assert len(needed) <= 2 * size.bit_length()
        assert all(level >= 0 and (i + 1) << level <= size for level, i in needed)


@given(leaf_data_lists.filter(bool), st.data())
@settings(deadline=None)
def test_nodes_needed_is_enough_to_build_proofs(data_list: list[bytes], data: st.DataObject) -> None:
    leaves = [merkle.leaf_hash(d) for d in data_list]
    nodes, size = all_nodes(leaves), len(leaves)
    index = data.draw(st.integers(0, size - 1), label="index")
    old_size = data.draw(st.integers(0, size), label="old size")
    for fn, args in ((merkle.inclusion_proof, (index, size)), (merkle.consistency_proof, (old_size, size))):
        fetched = {key: nodes[key] for key in merkle.nodes_needed(fn, *args)}
        assert fn(*args, node=getter(fetched)) == fn(*args, node=getter(nodes))


def test_root_of_large_tree_matches_compact_range() -> None:
    leaves = distinct_leaves(b"large", 70_003)
    compact = merkle.CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    assert merkle.root_of(leaves) == compact.root()


@given(st.lists(st.one_of(st.none(), st.integers(-3, 10), st.binary(max_size=40), st.text(max_size=3)), max_size=5))
def test_verifier_never_raises(junk: list) -> None:
    args = (junk + [None] * 5)[:5]
    assert verifier.verify_inclusion(*args) in (True, False)
    assert verifier.verify_consistency(*args) in (True, False)
    assert verifier.verify_consistency(1, 3, ROOTS[1], ROOTS[3], junk) is False
    assert verifier.verify_inclusion(0, 3, VECTOR_LEAVES[0], junk, ROOTS[3]) is False


# --- Argument checking -----------------------------------------------------------------------------------------------
def test_merkle_rejects_bad_arguments() -> None:
    node = getter(VECTOR_NODES)
    bad_calls = [
        lambda: merkle.inclusion_proof(8, 8, node),
        lambda: merkle.inclusion_proof(-1, 8, node),
        lambda: merkle.inclusion_proof(0, 0, node),
        lambda: merkle.consistency_proof(5, 4, node),
        lambda: merkle.consistency_proof(-1, 4, node),
        lambda: merkle.range_hash(5, 4, node),
        lambda: merkle.range_hash(1, 4, node),  # not an RFC 6962 subtree
        lambda: merkle.range_hash(0, 2, lambda level, index: b"short"),
        lambda: merkle.root_of([b"short"]),
        lambda: merkle.node_hash(b"short", SOME_HASH),
        lambda: merkle.CompactRange(1, []),
        lambda: merkle.CompactRange(3, [SOME_HASH, b"short"]),
        lambda: merkle.CompactRange(-1, []),
        lambda: merkle.CompactRange.from_bytes(3, SOME_HASH),
        lambda: merkle.CompactRange().append(b"short"),
    ]
    for call in bad_calls:
        with pytest.raises(ValueError):
            call()


def test_trivial_proofs() -> None:
    node = getter(VECTOR_NODES)
    assert merkle.consistency_proof(0, 8, node) == []
    assert merkle.consistency_proof(8, 8, node) == []
    assert merkle.inclusion_proof(0, 1, node) == []
    assert merkle.range_hash(3, 3, node) == merkle.EMPTY_ROOT
    assert merkle.root_of([]) == merkle.CompactRange().root() == merkle.EMPTY_ROOT
    assert merkle.CompactRange.from_bytes(0, b"").to_bytes() == b""
    assert merkle.nodes_needed(merkle.inclusion_proof, 0, 1) == set()


# --- Checkpoints -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


TIMESTAMP = "2025-01-31T12:00:00Z"


def test_checkpoint_message_format() -> None:
    expected = f"govern.audit.v1\n8\n{base64.b64encode(ROOTS[8]).decode()}\n{TIMESTAMP}\n".encode()
    assert verifier.CHECKPOINT_ORIGIN == "govern.audit.v1"
    assert verifier.checkpoint_message(8, ROOTS[8], TIMESTAMP) == expected


def test_checkpoint_signature(signing_key: Ed25519PrivateKey) -> None:
    signature = signing_key.sign(verifier.checkpoint_message(8, ROOTS[8], TIMESTAMP))
    for public_key in (_raw(signing_key), _pem(signing_key)):
        assert verifier.verify_checkpoint(public_key, 8, ROOTS[8], TIMESTAMP, signature)
        for i in range(len(signature)):
            assert not verifier.verify_checkpoint(public_key, 8, ROOTS[8], TIMESTAMP, flip(signature, i, 1))
        for i in range(len(ROOTS[8])):
            assert not verifier.verify_checkpoint(public_key, 8, flip(ROOTS[8], i, 0x80), TIMESTAMP, signature)
        for i in range(len(TIMESTAMP)):
            changed = TIMESTAMP[:i] + chr(ord(TIMESTAMP[i]) ^ 1) + TIMESTAMP[i + 1 :]
            assert not verifier.verify_checkpoint(public_key, 8, ROOTS[8], changed, signature)
        for size in (7, 9, 0):
            assert not verifier.verify_checkpoint(public_key, size, ROOTS[8], TIMESTAMP, signature)
        assert not verifier.verify_checkpoint(public_key, 8, ROOTS[8], TIMESTAMP, signature[:-1])


def test_checkpoint_rejects_bad_keys(signing_key: Ed25519PrivateKey) -> None:
    signature = signing_key.sign(verifier.checkpoint_message(8, ROOTS[8], TIMESTAMP))
    other = Ed25519PrivateKey.generate()
    bad_keys = [_raw(other), _pem(other), b"", b"\x00" * 31, b"-----BEGIN PUBLIC KEY-----\ngarbage\n", SOME_HASH + b"x"]
    for public_key in bad_keys:
        assert verifier.verify_checkpoint(public_key, 8, ROOTS[8], TIMESTAMP, signature) is False
    assert verifier.verify_checkpoint(_raw(signing_key), 8, b"short", TIMESTAMP, signature) is False
    assert verifier.verify_checkpoint(_raw(signing_key), 8, ROOTS[8], TIMESTAMP, "not bytes") is False


def test_key_id(signing_key: Ed25519PrivateKey) -> None:
    raw = _raw(signing_key)
    assert verifier.key_id(raw) == hashlib.sha256(raw).hexdigest()[:16]
    assert len(verifier.key_id(raw)) == 16
    with pytest.raises(ValueError):
        verifier.key_id(_pem(signing_key))


# --- Standalone verifier ---------------------------------------------------------------------------------------------
def _imported_modules(path: Path) -> list[tuple[str, int]]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.extend((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.append((node.module or "", node.level))
    return modules


@pytest.mark.parametrize(
    ("path", "allowed"),
    [(VERIFIER_PATH, {"cryptography"}), (NOTES_PATH, {"cryptography"}), (MERKLE_PATH, set())],
)
def test_modules_import_only_stdlib_and_cryptography(path: Path, allowed: set[str]) -> None:
    modules = _imported_modules(path)
    assert modules
    for name, level in modules:
        top = name.split(".")[0]
        if path == VERIFIER_PATH and level == 1:
            continue  # `from . import notes` inside Govern; the script loads notes.py beside it by path
        assert level == 0, f"relative import of {name!r} in {path.name}"
        assert top in sys.stdlib_module_names or top in allowed, f"{path.name} imports {name!r}"
        assert top not in {"django", "apps", "govern", "rest_framework"}


def _run_verifier(tmp_path: Path, document: dict) -> subprocess.CompletedProcess[str]:
    # A copy outside the project, run in isolated mode, proves the file works on its own.
    script = tmp_path / "verifier.py"
    shutil.copyfile(VERIFIER_PATH, script)
    shutil.copyfile(NOTES_PATH, tmp_path / "notes.py")  # what the verifier loads from beside itself
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(json.dumps(document), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-I", str(script), str(proof_file)], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )


def _checkpoint(key: Ed25519PrivateKey, size: int, root: bytes) -> dict:
    signature = key.sign(verifier.checkpoint_message(size, root, TIMESTAMP))
    return {
        "tree_size": size,
        "root_hash": root.hex(),
        "timestamp": TIMESTAMP,
        "signature": base64.b64encode(signature).decode(),
        "public_key": _pem(key).decode(),
    }


def test_cli_inclusion(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    index, size, proof = INCLUSION_VECTORS[-1]
    document = {
        "type": "inclusion",
        "leaf_index": index,
        "tree_size": size,
        "leaf_hash": VECTOR_LEAVES[index].hex(),
        "audit_path": [p.hex() for p in proof],
        "root_hash": ROOTS[size].hex(),
        "checkpoint": _checkpoint(signing_key, size, ROOTS[size]),
    }
    result = _run_verifier(tmp_path, document)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    assert result.stdout.strip().endswith("RESULT: OK")
    assert verifier.key_id(_raw(signing_key)) in result.stdout

    document["audit_path"][1] = flip(proof[1], 0, 1).hex()
    result = _run_verifier(tmp_path, document)
    assert result.returncode == 1
    assert result.stdout.strip().endswith("RESULT: FAIL")


def test_cli_consistency(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    old_size, new_size, proof = CONSISTENCY_VECTORS[3]
    document = {
        "type": "consistency",
        "first": old_size,
        "second": new_size,
        "first_root": ROOTS[old_size].hex(),
        "second_root": ROOTS[new_size].hex(),
        "proof": [p.hex() for p in proof],
    }
    assert _run_verifier(tmp_path, document).returncode == 0
    # A correctly signed checkpoint of a different tree must not vouch for this proof.
    document["checkpoint"] = _checkpoint(signing_key, 7, ROOTS[7])
    result = _run_verifier(tmp_path, document)
    assert result.returncode == 1
    assert "RESULT: FAIL" in result.stdout
    assert _run_verifier(tmp_path, {"type": "nonsense"}).returncode == 1


def test_main_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(json.dumps({"type": "consistency", "first": 1, "second": 1, "proof": []}), encoding="utf-8")
    assert verifier.main([str(proof_file)]) == 1  # missing roots
    assert "FAIL" in capsys.readouterr().out
    assert verifier.main([str(tmp_path / "missing.json")]) == 1
