"""The retention sweep's classes beyond alerts, lists and closed searches: what is due in each, and its deletion.

Classes with many rows (subject history, alert text, the access log) go in chunks of RETENTION_CHUNK_ROWS, each chunk
one transaction with one receipt event naming every row it deleted, so a million rows take a hundred appends to the
log, not a million (the log appends about 2,000 events a second: docs/benchmarks.md). Classes of whole records
(Sarah's Law cases, searches never closed) go one record at a time through their app's service, each with its
receipt. Custody images and subjects are only selected here: they are deleted through the custody deletion service.
"""

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from apps.audit import services as audit
from apps.disclosures import services as disclosures
from apps.matching.services import alert_handling, retrospective
from apps.watchlists.models import CustodyImage, Subject
from apps.watchlists.services import erasure
from govern.errors import Conflict

from .choices import DataClass

HistoricalSubject = Subject.history.model

# The classes this module sweeps, in the order it sweeps them.
CLASSES = (
    DataClass.SUBJECT_HISTORY,
    DataClass.ALERT_RECORDS,
    DataClass.OPEN_SEARCHES,
    DataClass.DISCLOSURE_CASES,
    DataClass.ACCESS_LOGS,
    DataClass.CUSTODY_IMAGES,
)
CUSTODY_NOTE = "deleted through the custody deletion service"


@dataclass(frozen=True)
class SweepItem:
    """One thing (or one chunk of `count` rows) the sweep deleted, would delete, or was stopped from deleting."""

    data_class: str
    target: str
    outcome: str  # "deleted", "due" (dry run, or left to another service) or "held"
    detail: str = ""
    count: int = 1


# History rows are only ever inserted (simple_history), and one sweep runs at a time (an advisory lock), so the chunk
# needs no row locks; it starts after the last chunk's key, so no chunk walks the dead rows of those before it, and
# `= ANY(ARRAY(...))` keeps the planner to index look-ups where `IN (...)` may hash-join a scan of the whole table.
_DELETE_HISTORY = f"""
DELETE FROM {HistoricalSubject._meta.db_table} WHERE history_id = ANY(ARRAY(
    SELECT history_id FROM {HistoricalSubject._meta.db_table} WHERE history_date < %s AND history_id > %s
    ORDER BY history_id LIMIT %s
)) RETURNING history_id, id
"""  # noqa: S608  (table names from the model, never input)


@transaction.atomic
def forget_subject_history(cutoff, *, after: int, limit: int, retention_hours: int) -> list[int]:
    """Delete up to `limit` past versions of subjects (names, dates of birth, PNC ids) recorded before the cutoff,
    from the version after `after` on, with one receipt naming each version and its subject; the versions deleted.
    The live subject row is untouched: its own deletion is the custody deletion service's."""
    with connection.cursor() as cursor:
        cursor.execute(_DELETE_HISTORY, [cutoff, after, limit])
        done = sorted(cursor.fetchall())
    if done:
        audit.record(
            "retention.deleted",
            ("watchlists.historicalsubject", f"{done[0][0]}-{done[-1][0]}"),
            None,
            data={
                "data_class": DataClass.SUBJECT_HISTORY.value,
                "rows": done,  # [version, subject] pairs, as the cursor gave them
                "retention_hours": retention_hours,
            },
        )
    return [version for version, _ in done]


def subjects_past_retention(cutoff):
    """Subjects unchanged since the cutoff with no image uploaded after it: due for the custody deletion service."""
    recent = CustodyImage.objects.filter(subject=OuterRef("pk"), uploaded_at__gt=cutoff)
    return Subject.objects.filter(updated_at__lte=cutoff).exclude(Exists(recent)).order_by("pk")


def count_due(data_class: str, cutoff) -> int:
    """How many rows (or records) of a class are past the cutoff and still held."""
    if data_class == DataClass.SUBJECT_HISTORY:
        return HistoricalSubject.objects.filter(history_date__lt=cutoff).count()
    if data_class == DataClass.ALERT_RECORDS:
        return alert_handling.alert_text_past_retention(cutoff).count()
    if data_class == DataClass.OPEN_SEARCHES:
        return retrospective.searches_left_open(cutoff).count()
    if data_class == DataClass.DISCLOSURE_CASES:
        return disclosures.cases_past_retention(cutoff).count()
    if data_class == DataClass.ACCESS_LOGS:
        return audit.consultations_before(cutoff)
    if data_class == DataClass.CUSTODY_IMAGES:
        return subjects_past_retention(cutoff).count()
    raise ValueError(f"{data_class} is not swept here.")


def _chunks(data_class: str, what: str, delete_chunk: Callable[[int, int], list[int]]) -> Iterator[SweepItem]:
    """Call `delete_chunk(after, limit)` from the start of the keys until it deletes nothing, each chunk after the
    last key of the one before."""
    after = -1
    while ids := delete_chunk(after, settings.RETENTION_CHUNK_ROWS):
        after = ids[-1]
        yield SweepItem(data_class, f"{what} {ids[0]}-{ids[-1]}", "deleted", f"{len(ids)} row(s)", len(ids))


def _records(data_class: str, ids, forget: Callable[[int], str | None], detail: str) -> Iterator[SweepItem]:
    for pk in ids:
        reference = forget(pk)
        if reference is not None:
            yield SweepItem(data_class, reference, "deleted", detail)


def _erased_subjects(due: list[int], hours: int, now) -> Iterator[SweepItem]:
    """Each subject past the custody images period erased with every copy (watchlists' erasure, its receipt), one
    transaction each; one held as evidence (an alert, an identification) is kept and says why."""
    for pk in due:
        try:
            erased = erasure.erase_past_retention(pk, hours=hours, now=now)
        except Conflict as held:
            yield SweepItem(DataClass.CUSTODY_IMAGES, f"subject {pk}", "held", str(held))
            continue
        if erased is not None:
            yield SweepItem(DataClass.CUSTODY_IMAGES, f"subject {pk}", "deleted", CUSTODY_NOTE, 1)


def sweep_class(data_class: str, hours: int, now, dry_run: bool) -> list[SweepItem]:
    """Apply one class's period: what is due (dry run), or what was deleted, each deletion with its receipt."""
    cutoff = now - datetime.timedelta(hours=hours)
    if data_class == DataClass.CUSTODY_IMAGES:
        due = list(subjects_past_retention(cutoff).values_list("pk", flat=True))
        if dry_run:
            return [SweepItem(data_class, f"subject {pk}", "due", CUSTODY_NOTE) for pk in due]
        return list(_erased_subjects(due, hours, now))
    if dry_run:
        due = count_due(data_class, cutoff)
        return [SweepItem(data_class, f"{due} past {hours} h", "due", "dry run: nothing deleted", due)] if due else []
    kept = {"retention_hours": hours}
    if data_class == DataClass.SUBJECT_HISTORY:
        found = _chunks(
            data_class,
            "subject versions",
            lambda after, n: forget_subject_history(cutoff, after=after, limit=n, **kept),
        )
    elif data_class == DataClass.ALERT_RECORDS:
        found = _chunks(
            data_class,
            "alerts",
            lambda after, n: alert_handling.forget_alert_text(cutoff=cutoff, after=after, limit=n, **kept),
        )
    elif data_class == DataClass.ACCESS_LOGS:
        found = _chunks(
            data_class, "events", lambda after, n: audit.redact_consultations(cutoff, after=after, limit=n, **kept)
        )
    elif data_class == DataClass.OPEN_SEARCHES:
        ids = list(retrospective.searches_left_open(cutoff).order_by("pk").values_list("pk", flat=True))
        found = _records(
            data_class,
            ids,
            lambda pk: retrospective.close_abandoned(pk, cutoff=cutoff, retention_hours=hours, now=now),
            "stills and candidates",
        )
    elif data_class == DataClass.DISCLOSURE_CASES:
        ids = list(disclosures.cases_past_retention(cutoff).order_by("pk").values_list("pk", flat=True))
        found = _records(
            data_class,
            ids,
            lambda pk: disclosures.forget_case(pk, cutoff=cutoff, retention_hours=hours),
            "the case, its children, checks, decisions, letters and history",
        )
    else:
        raise ValueError(f"{data_class} is not swept here.")
    return list(found)
