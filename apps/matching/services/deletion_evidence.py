"""Evidence that a deleted biometric is gone: an exact search finds no trace of it, then a VACUUM takes it off the
table's pages. Every kind of biometric gets the same two steps, whoever deletes it (a list's purge, alert retention, a
search's closure, a custody deletion), and the reconciliation page reads both back from the log.

The search is exact. It looks for the deleted rows by id and, when the caller still holds the vectors, for any row
holding one of them (a copy under another id). For most kinds index scans are switched off for it, so PostgreSQL
reads every row of the table rather than trusting an index. The custody gallery is too large for that (a million
templates: a scan of every vector would take seconds of a deletion that must take under one), so there the search
goes through two B-tree indexes, which answer equality exactly (only the HNSW graph is approximate, and it never
answers an equality): the primary key, and the SHA-256 of each row's vector that PostgreSQL computes for every row
however it was written (CustodyTemplate.embedding_sha256), so a copy of a deleted vector under another id is found
without reading the gallery. It runs in the deleting transaction, so a biometric found still present rolls the whole
deletion back rather than leaving a receipt for something that survived. The vectors are never written anywhere:
they are compared and forgotten.

An upgraded database holds deletions made before it took deletion evidence; none can ever exist for them. They are
those before the migration that brought deletion evidence was applied (evidence_began), and the reconciliation counts
them apart rather than showing them red.

Where the biometric was encrypted under a data key of its own (an alert's probe, a search's stills), the evidence also
names the key the deletion destroyed: the copies an exact search cannot reach (the write-ahead log, base backups,
replicas) still hold the ciphertext, and the key they need is gone (docs/security.md, crypto-shredding).

The VACUUM cannot run in a transaction: it goes through the outbox once the deletion commits, and logs the last
evidence of that kind it covers, so one VACUUM after a sweep of many deletions covers them all.
"""

import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder

from apps.audit import services as audit
from apps.audit.models import Event
from apps.outbox import services as outbox

from ..choices import Biometric


class BiometricSurvived(RuntimeError):
    """A deleted biometric was found by the exact search: the deletion is rolled back."""


@dataclass(frozen=True)
class Held:
    """Where one kind of biometric is kept: the table, and the condition for a row that still holds it."""

    table: str
    still_held: str  # SQL over the row, true while it holds the biometric
    vector_column: str = ""  # for templates: a copy of a deleted vector under another id is found too
    hash_column: str = ""  # the vector's SHA-256, indexed: the search goes through B-tree indexes, not every row


HELD = {
    Biometric.WATCHLIST_TEMPLATE: Held("matching_watchlisttemplate", "true", "embedding"),
    Biometric.CUSTODY_TEMPLATE: Held("matching_custodytemplate", "true", "embedding", "embedding_sha256"),
    Biometric.ALERT_PROBE: Held("matching_alert", "octet_length(probe_ciphertext) > 0"),
    Biometric.SEARCH_STILL: Held("matching_probe", "ciphertext IS NOT NULL"),
}
# A custody template's projection (CustodyReduced) is derived from it and goes with it (ON DELETE CASCADE).
ALSO_HELD = {Biometric.CUSTODY_TEMPLATE: [("matching_custodyreduced", "template_id")]}

VACUUM_TASK = "apps.matching.tasks.vacuum_biometrics"
# The migration that came with deletion evidence: deletions before it was applied have none (evidence_began).
EVIDENCE_MIGRATION = ("matching", "0010_template_generation")


def _survivors(kind: Biometric, ids: list[int], vectors) -> int:
    held = HELD[kind]
    conditions, params = [f"(id = ANY(%s) AND {held.still_held})"], [ids]
    if held.vector_column and vectors is not None and len(vectors):
        searched = [f"[{','.join(repr(float(x)) for x in vector)}]" for vector in vectors]
        if held.hash_column:  # the hash of the vector's binary form, as the generated column computes it
            conditions.append(
                f"{held.hash_column} = ANY(ARRAY(SELECT sha256(halfvec_send(v)) FROM unnest(%s::halfvec[]) v))"  # noqa: S608
            )
        else:
            conditions.append(f"{held.vector_column} = ANY(%s::halfvec[])")
        params.append(searched)
    statements = [f"SELECT count(*) FROM {held.table} WHERE {' OR '.join(conditions)}"]  # noqa: S608 (our names)
    for table, column in ALSO_HELD.get(kind, []):
        statements.append(f"SELECT count(*) FROM {table} WHERE {column} = ANY(%s)")  # noqa: S608 (our names)
    # Every row read, no index trusted, unless the kind is searched through exact B-tree indexes (hash_column).
    settings = [] if held.hash_column else ["enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"]
    found = 0
    with connection.cursor() as cursor:
        for setting in settings:
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(statements[0], params)
        found += cursor.fetchone()[0]
        for statement in statements[1:]:
            cursor.execute(statement, [ids])
            found += cursor.fetchone()[0]
        for setting in settings:
            cursor.execute(f"RESET {setting}")
    return found


def evidence_began():
    """When this database began taking deletion evidence: when the migration that came with it was applied (None on a
    database not migrated through it)."""
    app, name = EVIDENCE_MIGRATION
    return MigrationRecorder.Migration.objects.filter(app=app, name=name).values_list("applied", flat=True).first()


def still_held(kind: str, ids: list[int]) -> int:
    """How many of these rows hold their biometric now (the reconciliation's re-check of logged evidence)."""
    held = HELD[Biometric(kind)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {held.table} WHERE id = ANY(%s) AND {held.still_held}", [ids])  # noqa: S608
        return cursor.fetchone()[0]


def record_deletion_evidence(
    kind: str, ids: list[int], *, vectors=None, target=None, actor=None, data_keys_destroyed=None
) -> Event:
    """Prove, in the deleting transaction, that the biometrics of `kind` with these row ids (and these vectors, for
    templates) are gone; log it and have the table vacuumed once the deletion commits.

    `target` is what the log files the evidence under (the alert, the search, the subject, the watchlist); by default
    the first row deleted. `data_keys_destroyed` names the data keys the deletion destroyed (crypto-shredding: the
    copies beyond the table's reach are unreadable too); the evidence lists them. Raises BiometricSurvived, rolling the
    deletion back, when any is still found."""
    if not connection.in_atomic_block:
        raise RuntimeError("Deletion evidence is taken in the deleting transaction.")
    kind = Biometric(kind)
    ids = sorted({int(pk) for pk in ids})
    if not ids:
        raise ValueError("Name the deleted rows.")
    survivors = _survivors(kind, ids, vectors)
    if survivors:
        raise BiometricSurvived(f"{survivors} of the deleted {kind.label.lower()} survived their deletion.")
    event = audit.record(
        "biometric.absence_confirmed",
        target if target is not None else (HELD[kind].table.replace("_", ".", 1), ids[0]),
        actor,
        data={
            "kind": kind.value,
            "ids": ids,
            "vectors_searched": 0 if vectors is None else len(vectors),
            "absence_confirmed_by_exact_search": True,
            **_shredded(data_keys_destroyed),
        },
    )
    outbox.enqueue(VACUUM_TASK, kind.value)
    return event


def _shredded(keys) -> dict:
    """The evidence's word on crypto-shredding: the keys destroyed (none for a kind without data keys, or rows stored
    before them)."""
    if keys is None:
        return {}
    return {"data_keys_destroyed": sorted(key for key in keys if key)}


def vacuum(kind: str) -> Event | None:
    """VACUUM the table of one kind of biometric (outside any transaction) and log the last evidence it covers; a
    VACUUM already logged as covering the latest evidence is not run again (a sweep enqueues one per deletion)."""
    kind = Biometric(kind)
    latest = _latest_evidence(kind)
    if latest is None or latest <= vacuumed_through(kind):
        return None
    tables = [HELD[kind].table] + [table for table, _ in ALSO_HELD.get(kind, [])]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM {table}")
    with transaction.atomic():
        return audit.record(
            "biometric.vacuumed",
            ("matching.biometric", kind.value),
            None,
            data={"kind": kind.value, "tables": tables, "evidence_through": latest},
        )


def evidence_of(kind: str):
    """The absence checks logged for one kind of biometric."""
    marker = f'"kind":"{Biometric(kind).value}"'  # canonical JSON: sorted keys, no spaces
    return Event.objects.filter(action="biometric.absence_confirmed", canonical__contains=marker)


def _latest_evidence(kind: Biometric) -> int | None:
    """The log position of the last absence check of this kind, read before the VACUUM starts: what it covers."""
    return evidence_of(kind).order_by("-seq").values_list("seq", flat=True).first()


def vacuumed_through(kind: str) -> int:
    """The log position up to which evidence of this kind is covered by a VACUUM (-1 when none is)."""
    through = -1
    for canonical in Event.objects.filter(
        action="biometric.vacuumed", target_type="matching.biometric", target_id=Biometric(kind).value
    ).values_list("canonical", flat=True):
        through = max(through, audit_data(canonical).get("evidence_through", -1))
    return through


def audit_data(canonical: str | None) -> dict:
    """An event's data, from its canonical form."""
    return json.loads(canonical)["data"] if canonical else {}
