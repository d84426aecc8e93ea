"""`audit verify`: recompute every leaf, every stored tree node, every checkpoint root, signature and consistency.

It trusts nothing stored but the events' canonical text and the public key: a changed column, canonical text,
leaf hash, tree node or checkpoint is reported with the first event (or checkpoint) that does not fit. A consultation
redacted under access-log retention (migration 0005) keeps its leaf hash and names it in its tombstone: its leaf is
checked against that name, its columns against the tombstone, and the tree over it exactly as before. A tombstone
vouches for nothing by itself (a superuser with the triggers off could write one over any event), so it must also be
a consultation's and be named, with that leaf hash, by a later redaction receipt: a hashed event of its own.
"""

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import DataError, connection, transaction

from . import merkle, rotation, signing, verifier
from .choices import CHECKPOINT_ORIGIN_CHANGED, CONSULTATION_ACTION, CONSULTATIONS_REDACTED, REDACTED_PREFIX
from .models import Checkpoint, Event, LogHead

_LEAF = b"\x00"
_NODE = b"\x01"

# Columns that must equal the canonical text they were hashed from (column, JSON key, SQL cast).
_COLUMNS = [
    ("seq", "seq", "bigint"),
    ("created_at", "time", "timestamptz"),
    ("actor_id", "actor_id", "bigint"),
    ("actor_username", "actor", "text"),
    ("request_id", "request_id", "uuid"),
    ("action", "action", "text"),
    ("target_type", "target_type", "text"),
    ("target_id", "target_id", "text"),
    ("reason", "reason", "text"),
]


@dataclass(frozen=True, order=True)
class Problem:
    """Something in the log that does not fit; `seq` names the event when one is to blame."""

    seq: int | None
    message: str

    def __str__(self):
        return f"event {self.seq}: {self.message}" if self.seq is not None else self.message


@dataclass
class Report:
    """What verify found."""

    events: int = 0
    checkpoints: int = 0
    tree_nodes: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the log is intact."""
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        """The earliest event that does not fit, else the first other problem."""
        with_seq = sorted(p for p in self.problems if p.seq is not None)
        return with_seq[0] if with_seq else (self.problems[0] if self.problems else None)


# The planner prices a hash or a JSON parse like any function call and so keeps a scan in one process; these
# scans are CPU-bound, and parallel workers divide them. (SET LOCAL outlives a savepoint, hence the RESET.)
_PARALLEL = "SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0"
_SERIAL = "RESET parallel_setup_cost; RESET parallel_tuple_cost"
_CHUNK = 100_000


def _fast_leaves(report: Report) -> list[bytes] | None:
    """Recompute every leaf hash in the database (parallel), then fetch the stored leaves in bulk.

    Returns None when the positions have a gap: the row-by-row path then names the missing event.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), min(seq), max(seq) FROM audit_event")
        count, low, high = cursor.fetchone()
        if count and (low != 0 or high != count - 1):
            return None
        cursor.execute(_PARALLEL)
        cursor.execute(
            "SELECT seq FROM audit_event WHERE CASE WHEN starts_with(canonical, %s) "
            "THEN substr(canonical, %s, 64) IS DISTINCT FROM encode(leaf_hash, 'hex') "
            "ELSE sha256('\\x00'::bytea || convert_to(canonical, 'UTF8')) IS DISTINCT FROM leaf_hash END",
            [REDACTED_PREFIX, len(REDACTED_PREFIX) + 1],
        )
        wrong = sorted(row[0] for row in cursor.fetchall())
        cursor.execute(_SERIAL)
        leaves: list[bytes] = []
        for start in range(0, count, _CHUNK):
            cursor.execute(
                "SELECT string_agg(leaf_hash, ''::bytea ORDER BY seq) FROM audit_event WHERE seq >= %s AND seq < %s",
                [start, start + _CHUNK],
            )
            blob = bytes(cursor.fetchone()[0])
            leaves += [blob[i : i + 32] for i in range(0, len(blob), 32)]
    for seq in wrong:
        report.problems.append(Problem(seq, "leaf hash does not match the event's contents"))
    report.events = count
    return leaves


def _leaves(report: Report) -> list[bytes]:
    """Stream the events in order, checking sequence and leaf hashes; return the stored leaf hashes.

    The tree is rebuilt from the stored leaf hashes, so a changed event is reported once, as that event, and a
    leaf hash rewritten to match a forged event shows up as the lowest tree node that no longer fits.
    """
    leaves: list[bytes] = []
    sha256 = hashlib.sha256
    raw = connection.connection
    expected = 0
    with raw.cursor(name="audit_verify_events") as cursor:
        cursor.itersize = 20000
        cursor.execute("SELECT seq, canonical, leaf_hash FROM audit_event ORDER BY seq")
        for seq, canonical, stored in cursor:
            if seq != expected:
                report.problems.append(Problem(expected, f"missing from the log (next event found is {seq})"))
                expected = seq
            stored = bytes(stored)
            if canonical.startswith(REDACTED_PREFIX):  # a redacted consultation: its tombstone names the leaf kept
                fits = canonical[len(REDACTED_PREFIX) : len(REDACTED_PREFIX) + 64] == stored.hex()
            else:
                fits = sha256(_LEAF + canonical.encode()).digest() == stored
            if not fits:
                report.problems.append(Problem(seq, "leaf hash does not match the event's contents"))
            leaves.append(stored)
            expected += 1
    report.events = len(leaves)
    return leaves


def _redaction_receipts() -> dict[tuple[str, str], int]:
    """Every (position, leaf hash hex) a redaction receipt names, with the last receipt naming it. Only receipts whose
    own text is whole count: a tombstone over a receipt vouches for nothing."""
    named: dict[tuple[str, str], int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, canonical FROM audit_event WHERE action = %s AND NOT starts_with(canonical, %s)",
            [CONSULTATIONS_REDACTED, REDACTED_PREFIX],
        )
        for receipt, canonical in cursor.fetchall():
            try:
                events = json.loads(canonical)["data"]["events"]
            except (ValueError, KeyError, TypeError):
                continue  # not what the receipt's leaf hash covers: the leaf check reports it
            if isinstance(events, dict):
                for seq, leaf in events.items():
                    if isinstance(leaf, str):  # anything else names nothing (and must not stop the verification)
                        named[(seq, leaf)] = max(receipt, named.get((seq, leaf), -1))
    return named


def tombstone_problems(first: int = 0, last: int | None = None) -> list[Problem]:
    """Each tombstone (from position `first` to `last`) that is not a consultation's named with its leaf hash by a
    redaction receipt later in the log.

    The trigger of migration 0005 turns only a consultation into a tombstone, and the retention service writes the
    receipt in the same transaction; a tombstone without both was written behind the trigger's back, over an event
    whose contents it now hides (an erasure, an alert, a decision). An evidence bundle checks its range with this
    before it gives a tombstone as a withheld leaf, which the offline verifier cannot look behind.
    """
    named = _redaction_receipts()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, action, encode(leaf_hash, 'hex') FROM audit_event "
            "WHERE starts_with(canonical, %s) AND seq >= %s AND (%s::bigint IS NULL OR seq <= %s) ORDER BY seq",
            [REDACTED_PREFIX, first, last, last],
        )
        tombstones = cursor.fetchall()
    found = []
    for seq, action, leaf in tombstones:
        if action != CONSULTATION_ACTION:
            found.append(
                Problem(
                    seq,
                    f"a redaction tombstone over a {action} event: only a consultation can be redacted, "
                    "so this event was rewritten",
                )
            )
        elif named.get((str(seq), leaf), -1) <= seq:
            found.append(
                Problem(
                    seq,
                    "a redaction tombstone that no later redaction receipt names with its leaf hash: "
                    "this event was rewritten",
                )
            )
    return found


def _differing_column(body: dict, row: tuple) -> str | None:
    """The first column of `row` (seq first) that differs from the hashed canonical body."""
    from .services import format_time

    for (column, key, _), value in zip(_COLUMNS, row, strict=True):
        if column == "created_at":
            value = format_time(value)
        elif column == "request_id":
            value = str(value)
        if body.get(key) != value:
            return column
    return None


def _python_column_check(report: Report) -> None:
    """The slow path: parse each canonical text in Python (used when some text is not JSON at all)."""
    with connection.cursor() as cursor:
        columns = ", ".join(c for c, _, _ in _COLUMNS)  # fixed names from _COLUMNS, never input
        cursor.execute(f"SELECT canonical, {columns} FROM audit_event ORDER BY seq")  # noqa: S608
        for canonical, *row in cursor:
            try:
                body = json.loads(canonical)
            except ValueError:
                report.problems.append(Problem(row[0], "canonical text is not JSON"))
                continue
            column = _differing_column(body, tuple(row))
            if column is not None:
                report.problems.append(Problem(row[0], f"{column} differs from what was hashed"))


def _column_check(report: Report) -> None:
    """Every column must say what the hashed canonical text says: each text parsed once, in parallel, in SQL."""
    record = ", ".join(f'"{key}" {cast}' for _, key, cast in _COLUMNS)
    mismatch = " OR ".join(f'j."{key}" IS DISTINCT FROM e.{column}' for column, key, _ in _COLUMNS)
    columns = ", ".join(f"e.{column}" for column, _, _ in _COLUMNS)
    # json, not jsonb: the text is parsed once either way, and json_to_record skips building the binary form (2.1 s
    # against 2.5 s at 1M events). Duplicate keys cannot hide anything: the text itself is what the leaf hash covers.
    query = (  # fixed names from _COLUMNS, never input; no ORDER BY so the scan may run in parallel
        f"SELECT e.canonical, {columns} FROM audit_event e, json_to_record(e.canonical::json) AS j({record}) "  # noqa: S608
        f"WHERE {mismatch}"
    )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_PARALLEL)
            cursor.execute(query)
            rows = sorted(cursor.fetchall(), key=lambda row: row[1])
            cursor.execute(_SERIAL)
    except DataError:
        _python_column_check(report)
        return
    for canonical, *row in rows:
        column = _differing_column(json.loads(canonical), tuple(row)) or "a column"
        report.problems.append(Problem(row[0], f"{column} differs from what was hashed"))


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


def _column_check_beside(snapshot: str) -> Report:
    """The column check on this thread's own connection, in the caller's snapshot (exported by pg_export_snapshot),
    so it sees exactly the events the rest of verify sees while running beside it."""
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError(f"Not a snapshot id: {snapshot!r}")
    found = Report()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT '{snapshot}'"
            )
            _column_check(found)
    finally:
        connection.close()  # a thread's connection is its own: never leave it open
    return found


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every perfect node, level by level (level 0 = leaves); odd nodes are not carried up."""
    sha256 = hashlib.sha256
    levels = [leaves]
    current = leaves
    while len(current) > 1:
        current = [sha256(_NODE + current[i] + current[i + 1]).digest() for i in range(0, len(current) - 1, 2)]
        levels.append(current)
    return levels


def _fast_tree_node_check(report: Report, levels: list[list[bytes]]) -> None:
    """Compare each stored level as one string; only if one differs, run the row-by-row check that names it."""
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT level, count(*), min("index"), max("index"), string_agg(hash, \'\' ORDER BY "index") '
            "FROM audit_treenode GROUP BY level ORDER BY level"
        )
        rows = cursor.fetchall()
    seen, intact = 0, True
    for level, count, low, high, blob in rows:
        seen += count
        expected = levels[level] if 1 <= level < len(levels) else []
        if (low, high, count) != (0, len(expected) - 1, len(expected)) or bytes(blob) != b"".join(expected):
            intact = False
    if not intact or seen != sum(len(level) for level in levels[1:]):
        _tree_node_check(report, levels)
        return
    report.tree_nodes = seen


def _tree_node_check(report: Report, levels: list[list[bytes]]) -> None:
    """The stored nodes that proofs are built from must be exactly the recomputed ones.

    Only the lowest nodes that do not fit are reported: their ancestors fail because of them.
    """
    raw = connection.connection
    seen = 0
    wrong: set[tuple[int, int]] = set()
    with raw.cursor(name="audit_verify_nodes") as cursor:
        cursor.itersize = 20000
        cursor.execute('SELECT level, "index", hash FROM audit_treenode ORDER BY level, "index"')
        for level, index, stored in cursor:
            seen += 1
            if level < 1 or level >= len(levels) or index >= len(levels[level]):
                report.problems.append(Problem(None, f"tree node ({level}, {index}) lies outside the log"))
            elif levels[level][index] != bytes(stored):
                wrong.add((level, index))
    for level, index in sorted(wrong):
        if (level - 1, 2 * index) in wrong or (level - 1, 2 * index + 1) in wrong:
            continue
        first = index << level
        report.problems.append(
            Problem(
                first,
                f"tree node ({level}, {index}) over events {first} to {first + (1 << level) - 1} "
                "does not match them: one of these events was altered",
            )
        )
    expected = sum(len(level) for level in levels[1:])
    if seen != expected:
        report.problems.append(Problem(None, f"{seen} stored tree nodes where the events make {expected}"))
    report.tree_nodes = seen


def origin_changes() -> dict[str, list[int]]:
    """Each log origin a CHECKPOINT_ORIGIN_CHANGED event introduced, with the positions of the events naming it."""
    changes: dict[str, list[int]] = {}
    for seq, canonical in Event.objects.filter(action=CHECKPOINT_ORIGIN_CHANGED).values_list("seq", "canonical"):
        try:
            origin = json.loads(canonical)["data"]["to"]
        except (ValueError, KeyError, TypeError):
            continue  # not what its leaf hash covers: the leaf check reports it
        if isinstance(origin, str):
            changes.setdefault(origin, []).append(seq)
    return changes


def _checkpoint_check(report: Report, levels: list[list[bytes]]) -> None:
    """Each checkpoint's root, its signature by a key of the key history, and consistency with the one before it.

    A key a rotation introduced may sign only trees that already hold the rotation event naming it; a checkpoint whose
    origin differs from the one before it (the first C2SP note after the first format) must hold the event recording
    the change.
    """
    keys = signing.public_keys()
    announced = rotation.signing_keys_announced()
    renamed = origin_changes()

    def node(level: int, index: int) -> bytes:
        return levels[level][index]

    previous = None
    for checkpoint in Checkpoint.objects.order_by("tree_size"):
        report.checkpoints += 1
        size = checkpoint.tree_size
        stored_root = bytes(checkpoint.root_hash)
        label = f"checkpoint at size {size} ({checkpoint.timestamp})"
        if size > report.events:
            report.problems.append(Problem(None, f"{label} covers more events than the log holds ({report.events})"))
            continue
        root = merkle.range_hash(0, size, node)
        if root != stored_root:
            report.problems.append(Problem(None, f"{label}: root does not match the events it covers"))
        public_key = keys.get(checkpoint.key_id)
        if public_key is None:
            report.problems.append(
                Problem(None, f"{label}: signed by key {checkpoint.key_id}, which the key history does not hold")
            )
        elif not verifier.verify_checkpoint(
            public_key, size, stored_root, checkpoint.timestamp, bytes(checkpoint.signature), checkpoint.origin
        ):
            report.problems.append(Problem(None, f"{label}: signature does not verify"))
        recorded = previous is None or any(
            previous.tree_size <= seq < size for seq in renamed.get(checkpoint.origin, [])
        )
        if previous is not None and previous.origin != checkpoint.origin and not recorded:
            report.problems.append(
                Problem(
                    None,
                    f"{label}: names log origin {checkpoint.origin!r} where the checkpoint at size "
                    f"{previous.tree_size} named {previous.origin or 'none (the first format)'!r}, and no "
                    f"{CHECKPOINT_ORIGIN_CHANGED} event between them records the change",
                )
            )
        if announced.get(checkpoint.key_id, -1) >= size:
            report.problems.append(
                Problem(
                    None,
                    f"{label}: signed by key {checkpoint.key_id} before the log held the rotation event "
                    f"{announced[checkpoint.key_id]} that introduced it",
                )
            )
        if previous is not None:
            proof = merkle.consistency_proof(previous.tree_size, size, node) if previous.tree_size else []
            if (
                not verifier.verify_consistency(previous.tree_size, size, bytes(previous.root_hash), stored_root, proof)
                and previous.tree_size
            ):
                report.problems.append(
                    Problem(None, f"{label} is not consistent with the checkpoint at size {previous.tree_size}")
                )
        previous = checkpoint


def _head_check(report: Report, levels: list[list[bytes]]) -> None:
    """The head row that assigns positions must agree with the events."""
    head = LogHead.objects.filter(pk=1).first()
    size = head.size if head else 0
    if size != report.events:
        report.problems.append(Problem(None, f"the log head says {size} events, the table holds {report.events}"))
        return
    edge = merkle.CompactRange(0)
    if size:
        hashes = []
        position = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                hashes.append(levels[level][position >> level])
                position += 1 << level
        edge = merkle.CompactRange(size, hashes)
    if head is not None and bytes(head.frontier) != edge.to_bytes():
        report.problems.append(Problem(None, "the log head's right edge does not match the events"))


def verify(columns: bool = True) -> Report:
    """Check the whole log; the report lists every problem, earliest event first.

    With `columns`, also check that the indexed columns (action, actor, target, time...) say what each event's
    hashed text says: they are what the log's filters search, so a change there misleads a search without
    touching the hashes. It is the slowest part (a JSON parse per event); `audit verify --fast` leaves it out.
    """
    report = Report()
    outermost = not connection.in_atomic_block
    with transaction.atomic(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-verify") as pool:
        beside = None
        if outermost:
            # One snapshot for every query, so appends arriving meanwhile do not look like tampering.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                if columns:
                    # The column check is the slowest step and runs in the server: on a second connection in the
                    # same snapshot it overlaps with the hashing here (1M events: 5.0 s -> see docs/benchmarks.md).
                    cursor.execute("SELECT pg_export_snapshot()")
                    beside = pool.submit(_column_check_beside, cursor.fetchone()[0])
        elif columns:
            _column_check(report)  # inside a caller's transaction, whose uncommitted rows only this connection sees
        leaves = _fast_leaves(report)
        if leaves is None:
            leaves = _leaves(report)
        report.problems += tombstone_problems()
        levels = _levels(leaves)
        _fast_tree_node_check(report, levels)
        _checkpoint_check(report, levels)
        _head_check(report, levels)
        if beside is not None:
            report.problems += beside.result().problems
    report.problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return report
