"""The access log review (DPA 2018 s.62): who consulted or disclosed what, when and why, and what looks unusual.

Three patterns are flagged for a privacy officer to look at, never judged: an actor reading far more records than
their peers in the period, a read of an alert outside its deployment's window (plus a day for adjudication), and a
read whose reason cites no case, deployment or crime reference.
"""

import datetime
import json
import re
import statistics
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q

from apps.audit import registry
from apps.audit.choices import ActionKind
from apps.audit.models import Event
from apps.matching.models import Alert, Probe
from apps.watchlists.models import CustodyImage, Entry
from govern import spreadsheet

REVIEW_GRACE = datetime.timedelta(hours=24)
EXPORT_LIMIT = 100_000

HEAVY, OUT_OF_WINDOW, NO_CASE = "heavy_reader", "outside_deployment_window", "no_case_link"
FLAG_LABELS = {
    HEAVY: "Reads far more records than peers",
    OUT_OF_WINDOW: "Read outside the deployment's window",
    NO_CASE: "No case reference in the reason",
}


@dataclass
class AccessFilter:
    """What the reviewer searches by; every field optional."""

    person: int | None = None  # a subject's id: reads of the subject, their images, entries, alerts, probes
    record: str = ""  # "type:id", e.g. matching.alert:12
    actor: str = ""  # username
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    reason: str = ""  # words the reason contains
    flagged_only: bool = False

    @classmethod
    def from_form(cls, data: dict) -> "AccessFilter":
        """The filter from a valid AccessSearchForm's cleaned data (blank fields mean no filter)."""
        return cls(
            person=data.get("person"),
            record=data.get("record") or "",
            actor=data.get("actor") or "",
            start=data.get("start"),
            end=data.get("end"),
            reason=data.get("reason") or "",
            flagged_only=bool(data.get("flagged_only")),
        )


@dataclass
class Row:
    """One consultation or disclosure and its flags."""

    event: Event
    kind: str
    flags: list[str] = field(default_factory=list)


def reviewed_actions() -> dict[str, str]:
    """Actions that are consultations or disclosures, with their kind."""
    return {
        action.name: action.kind
        for action in registry.all_actions()
        if action.kind in (ActionKind.CONSULTATION, ActionKind.DISCLOSURE)
    }


def _person_targets(subject_id: int) -> Q:
    targets = Q(target_type="watchlists.subject", target_id=str(subject_id))
    for label, ids in (
        ("watchlists.custodyimage", CustodyImage.objects.filter(subject_id=subject_id).values_list("pk", flat=True)),
        ("watchlists.entry", Entry.objects.filter(subject_id=subject_id).values_list("pk", flat=True)),
        ("matching.alert", Alert.objects.filter(subject_id=subject_id).values_list("pk", flat=True)),
        ("matching.probe", Probe.objects.filter(chosen_subject_id=subject_id).values_list("pk", flat=True)),
    ):
        found = [str(pk) for pk in ids]
        if found:
            targets |= Q(target_type=label, target_id__in=found)
    return targets


def search(chosen: AccessFilter):
    """The consultations and disclosures that match, newest first (a queryset of events)."""
    events = Event.objects.filter(action__in=list(reviewed_actions()))
    if chosen.person is not None:
        events = events.filter(_person_targets(chosen.person))
    if chosen.record:
        label, _, pk = chosen.record.partition(":")
        events = events.filter(target_type=label.strip(), target_id=pk.strip())
    if chosen.actor:
        events = events.filter(actor_username=chosen.actor)
    if chosen.start:
        events = events.filter(created_at__gte=chosen.start)
    if chosen.end:
        events = events.filter(created_at__lt=chosen.end)
    if chosen.reason:
        events = events.filter(reason__icontains=chosen.reason)
    return events.order_by("-seq")


def heavy_readers(start=None, end=None) -> dict[str, int]:
    """Actors whose consultations in the period exceed the factor times their peers' median (and the minimum)."""
    reads = Event.objects.filter(action__in=[a for a, k in reviewed_actions().items() if k == ActionKind.CONSULTATION])
    if start:
        reads = reads.filter(created_at__gte=start)
    if end:
        reads = reads.filter(created_at__lt=end)
    counts = dict(reads.values("actor_username").annotate(n=Count("seq")).values_list("actor_username", "n"))
    if len(counts) < 2:
        return {}
    flagged = {}
    for actor, n in counts.items():
        peers = [m for other, m in counts.items() if other != actor]
        bar = max(settings.ACCESS_HEAVY_READER_FACTOR * statistics.median(peers), settings.ACCESS_HEAVY_READER_MINIMUM)
        if n > bar:
            flagged[actor] = n
    return flagged


def flag(events, chosen: AccessFilter) -> list[Row]:
    """Rows with their flags, for a page or an export of events."""
    kinds = reviewed_actions()
    events = list(events)
    heavy = heavy_readers(chosen.start, chosen.end)
    alert_ids = {int(e.target_id) for e in events if e.target_type == "matching.alert" and e.target_id.isdigit()}
    windows = {
        pk: (start, end)
        for pk, start, end in Alert.objects.filter(pk__in=alert_ids).values_list(
            "pk", "deployment__start", "deployment__end"
        )
    }
    pattern = re.compile(settings.ACCESS_CASE_REFERENCE_PATTERN)
    rows = []
    for event in events:
        row = Row(event, kinds.get(event.action, ""))
        if event.actor_username in heavy:
            row.flags.append(HEAVY)
        if event.target_type == "matching.alert" and event.target_id.isdigit():
            window = windows.get(int(event.target_id))
            if window and not window[0] <= event.created_at <= window[1] + REVIEW_GRACE:
                row.flags.append(OUT_OF_WINDOW)
        if row.kind == ActionKind.CONSULTATION and not pattern.search(event.reason or ""):
            row.flags.append(NO_CASE)
        if row.flags or not chosen.flagged_only:
            rows.append(row)
    return rows


EXPORT_FIELDS = ["seq", "time", "kind", "action", "actor", "target_type", "target_id", "reason", "flags", "leaf_hash"]


def _record(row: Row) -> dict:
    event = row.event
    return {
        "seq": event.seq,
        "time": event.created_at.isoformat(),
        "kind": row.kind,
        "action": event.action,
        "actor": event.actor_username,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "reason": event.reason,
        "flags": row.flags,
        "leaf_hash": bytes(event.leaf_hash).hex(),
    }


def export(rows: list[Row], fmt: str) -> tuple[bytes, str]:
    """The rows as CSV or JSON for the Information Commissioner: (content, content type)."""
    records = [_record(row) for row in rows]
    if fmt == "json":
        document = {"format": "govern-access-log/1", "count": len(records), "events": records}
        return json.dumps(document, indent=1, ensure_ascii=False).encode(), "application/json"
    rows = [{**record, "flags": " ".join(record["flags"])} for record in records]
    return spreadsheet.csv_text(EXPORT_FIELDS, rows).encode(), "text/csv"
