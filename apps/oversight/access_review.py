"""The access log review (DPA 2018 s.62): who consulted or disclosed what, when and why, and what looks unusual.

Three patterns are flagged for a privacy officer to look at, never judged: an actor reading far more records than
their peers on the same duty (the same roles) in the period, a read of an alert outside its deployment's window (plus
a day for adjudication), and a read whose reason cites no case, deployment or crime reference. An officer watching a
live deployment's alert queue reads far more than a privacy officer does, as the duty requires: they are compared with
other officers, never with people who do another job, and with nobody when nobody else on their duty read.

The flags are computed in Python for the rows shown (`flag`) and in SQL for a search of the flagged rows only
(`search`), so a page of flagged rows is the same whichever page it is; a test holds the two alike.
"""

import bisect
import datetime
import json
import math
import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import CharField, Count, Exists, F, OuterRef, Q
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from apps.audit import registry
from apps.audit import services as audit
from apps.audit.choices import ActionKind
from apps.audit.models import Event
from apps.deployments.models import Deployment
from apps.matching.models import Alert, Probe, SearchRequest
from apps.watchlists.filtersets import SubjectFilterSet
from apps.watchlists.models import CustodyImage, Entry, Subject, Watchlist
from govern import policy, spreadsheet
from govern.roles import Role

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
    people: tuple[int, ...] | None = None  # subjects found by name or PNC ID (`find_people`): reads about any of them
    record: str = ""  # "type:id", e.g. matching.alert:12
    actor: str = ""  # username
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    reason: str = ""  # words the reason contains
    flagged_only: bool = False


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


def _person_targets(subject_ids) -> Q:
    """The events about these subjects: their records, custody images, watchlist entries, alerts and stills chosen."""
    subject_ids = list(subject_ids)
    targets = Q(target_type="watchlists.subject", target_id__in=[str(pk) for pk in subject_ids])
    for label, ids in (
        (
            "watchlists.custodyimage",
            CustodyImage.objects.filter(subject_id__in=subject_ids).values_list("pk", flat=True),
        ),
        ("watchlists.entry", Entry.objects.filter(subject_id__in=subject_ids).values_list("pk", flat=True)),
        ("matching.alert", Alert.objects.filter(subject_id__in=subject_ids).values_list("pk", flat=True)),
        ("matching.probe", Probe.objects.filter(chosen_subject_id__in=subject_ids).values_list("pk", flat=True)),
    ):
        found = [str(pk) for pk in ids]
        if found:
            targets |= Q(target_type=label, target_id__in=found)
    return targets


@transaction.atomic
def find_people(actor, words: str) -> tuple[int, ...]:
    """The subjects a reviewer means by a name or a PNC ID, to find the reads about them. Looking a person up by
    name is a search of personal data: logged like the gallery's search (the words as a commitment, the ids found),
    with the review as its reason."""
    found = SubjectFilterSet({"q": words}, queryset=Subject.objects.all())
    ids = tuple(found.qs.values_list("pk", flat=True)[:PEOPLE_LIMIT]) if found.is_valid() else ()
    audit.record_access(
        ("watchlists.subject", "search"),
        actor,
        "Access log review: the reads of a person's records",
        data={"query": audit.commitment({"q": words}), "results": list(ids)},
    )
    return ids


PEOPLE_LIMIT = 100  # a name that matches more people than this is too vague to review by: the page says so


def search(chosen: AccessFilter, heavy: dict[str, int] | None = None):
    """The consultations and disclosures that match, newest first (a queryset of events); the flagged ones only when
    asked (`heavy`: the heavy readers of the period, when the caller has them already)."""
    events = Event.objects.filter(action__in=list(reviewed_actions()))
    if chosen.person is not None:
        events = events.filter(_person_targets([chosen.person]))
    if chosen.people is not None:
        events = events.filter(_person_targets(chosen.people)) if chosen.people else events.none()
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
    if chosen.flagged_only:
        events = events.filter(_flagged(heavy if heavy is not None else heavy_readers(chosen.start, chosen.end)))
    return events.order_by("-seq")


def _postgres_pattern(pattern: str) -> str:
    r"""The case-reference pattern as PostgreSQL's regular expressions read it: a word boundary is \y there (\b is a
    backspace)."""
    return pattern.replace(r"\b", r"\y")


def _flagged(heavy: dict[str, int]) -> Q:
    """The events `flag` flags, as a filter: a heavy reader's, a read of an alert outside its deployment's window
    (plus the grace), a consultation whose reason names no case."""
    outside = Alert.objects.annotate(key=Cast("pk", CharField()), until=F("deployment__end") + REVIEW_GRACE).filter(
        Q(deployment__start__gt=OuterRef("created_at")) | Q(until__lt=OuterRef("created_at")), key=OuterRef("target_id")
    )
    consultations = [name for name, kind in reviewed_actions().items() if kind == ActionKind.CONSULTATION]
    return (
        Q(actor_username__in=list(heavy))
        | (Q(target_type="matching.alert") & Exists(outside))
        | (Q(action__in=consultations) & ~Q(reason__regex=_postgres_pattern(settings.ACCESS_CASE_REFERENCE_PATTERN)))
    )


@dataclass
class Reader:
    """One reader in a period: how many records they consulted, beside their peers on the same duty."""

    actor: str
    duty: str  # the roles they hold, in words: their peers hold the same
    reads: int
    peers: int  # how many others on the same duty read in the period
    peer_median: float | None  # None when nobody else on the duty read: nothing to compare with
    bar: float | None
    heavy: bool

    @property
    def peer_median_shown(self) -> str:
        return one_place(self.peer_median)

    @property
    def bar_shown(self) -> str:
        return one_place(self.bar)


def one_place(value: float | None) -> str:
    """A figure as the template filter `floatformat:"-1"` writes it (one decimal place, rounded half up, none for a
    whole number), without its Decimal arithmetic: the readers' table shows two a reader, for a few hundred readers."""
    if value is None:
        return ""
    if value == int(value):
        return str(int(value))
    return f"{math.floor(value * 10 + 0.5) / 10:.1f}"


def _duties(actor_ids) -> dict[int, str]:
    """Each user's duty: the roles they hold, in words (sorted, so the same roles read the same)."""
    labels = dict(Role.choices)
    held: dict[int, list[str]] = {}
    links = get_user_model().groups.through.objects.filter(user_id__in=actor_ids, group__name__in=Role.values)
    for user_id, name in links.values_list("user_id", "group__name"):
        held.setdefault(user_id, []).append(labels[name])
    return {user_id: ", ".join(sorted(names)) for user_id, names in held.items()}


def compared_period(start=None, end=None) -> tuple[datetime.datetime, datetime.datetime | None]:
    """The period readers are compared over: the one asked for, or without a start the ACCESS_HEAVY_READER_DAYS
    before its end (before now without one), so the comparison counts a bounded window of the log, never all of it."""
    if start is None:
        start = (end or timezone.now()) - datetime.timedelta(days=settings.ACCESS_HEAVY_READER_DAYS)
    return start, end


def _median_without(ordered: list[int], value: int) -> float | None:
    """The median of the sorted counts with one `value` taken out (a reader's peers are the others on the duty), in
    constant time: the whole duty's list is sorted once, not once a reader."""
    if len(ordered) < 2:
        return None
    out = bisect.bisect_left(ordered, value)
    length = len(ordered) - 1

    def nth(i: int) -> int:  # the i-th of the counts left
        return ordered[i if i < out else i + 1]

    return statistics.median([nth((length - 1) // 2), nth(length // 2)])


def readers(start=None, end=None) -> list[Reader]:
    """Everyone who consulted records in the period (`compared_period`), the most reads first, each against their
    peers: a reader is heavy when their reads exceed the factor times the median of their peers' (and the minimum).
    Peers hold the same roles and read in the same period; a reader with no peer is compared with nobody and never
    flagged. The reads are counted per reader in SQL; the medians are of those few hundred counts."""
    start, end = compared_period(start, end)
    reads = Event.objects.filter(action__in=[a for a, k in reviewed_actions().items() if k == ActionKind.CONSULTATION])
    reads = reads.filter(created_at__gte=start)
    if end:
        reads = reads.filter(created_at__lt=end)
    counts: dict[str, int] = {}
    ids: dict[str, int] = {}
    for username, actor_id, n in (
        reads.values("actor_username", "actor_id")
        .annotate(n=Count("*"))  # not Count("seq"): the period's index holds the reader, so the heap is not read
        .values_list("actor_username", "actor_id", "n")
    ):
        counts[username] = counts.get(username, 0) + n
        if actor_id is not None:
            ids[username] = actor_id
    duties = _duties(set(ids.values()))
    duty_of = {username: duties.get(ids.get(username), "No role") for username in counts}
    on_duty: dict[str, list[int]] = {}
    for actor, n in counts.items():
        on_duty.setdefault(duty_of[actor], []).append(n)
    for reads_on_duty in on_duty.values():
        reads_on_duty.sort()
    found = []
    for actor, n in counts.items():
        peers = on_duty[duty_of[actor]]
        median = _median_without(peers, n)
        bar = (
            max(settings.ACCESS_HEAVY_READER_FACTOR * median, settings.ACCESS_HEAVY_READER_MINIMUM)
            if median is not None
            else None
        )
        found.append(Reader(actor, duty_of[actor], n, len(peers) - 1, median, bar, bar is not None and n > bar))
    return sorted(found, key=lambda reader: (-reader.reads, reader.actor))


def heavy_readers(start=None, end=None) -> dict[str, int]:
    """Actors whose consultations in the period stand out against their peers on the same duty (`readers`)."""
    return {reader.actor: reader.reads for reader in readers(start, end) if reader.heavy}


def flag(events, chosen: AccessFilter, heavy: dict[str, int] | None = None) -> list[Row]:
    """Rows with their flags, for a page or an export of events (`heavy`: the period's heavy readers, when the
    caller has them already)."""
    kinds = reviewed_actions()
    events = list(events)
    heavy = heavy if heavy is not None else heavy_readers(chosen.start, chosen.end)
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


@dataclass(frozen=True)
class Named:
    """A record an event names, as a reviewer reads it: a label, and the page that shows it if the reviewer may open
    one (None otherwise)."""

    label: str
    url: str | None = None


def _ids(keys, target_type: str) -> list[int]:
    return [int(pk) for kind, pk in keys if kind == target_type and pk.isdigit() and len(pk) <= 18]


def _link(user, action: str, url: str) -> str | None:
    """The page, if the reviewer's role may open it (a privacy officer sees alerts, an oversight reader does not)."""
    return url if policy.may(user, action) else None


def describe(events, user) -> dict[tuple[str, str], Named]:
    """A label and a link for each record the events name (`watchlists.custodyimage:2` reads "Custody image 2 of
    subject 7" and links to the reads about that subject), in one query per kind of record. A record without a page
    is labelled but not linked; a person is named by number, never by name."""
    events = list(events)
    keys = {(event.target_type, event.target_id) for event in events}
    access = reverse("oversight:access")
    found: dict[tuple[str, str], Named] = {}
    for pk in _ids(keys, "watchlists.subject"):
        found["watchlists.subject", str(pk)] = Named(f"Subject {pk}", f"{access}?person={pk}")
    for pk, subject in CustodyImage.objects.filter(pk__in=_ids(keys, "watchlists.custodyimage")).values_list(
        "pk", "subject_id"
    ):
        found["watchlists.custodyimage", str(pk)] = Named(
            f"Custody image {pk} of subject {subject}", f"{access}?person={subject}"
        )
    visible_lists = Watchlist.objects.restrict(user, "view")
    for watchlist in visible_lists.filter(pk__in=_ids(keys, "watchlists.watchlist")).only("pk", "reference"):
        found["watchlists.watchlist", str(watchlist.pk)] = Named(
            watchlist.reference, reverse("watchlists:detail", args=[watchlist.pk])
        )
    entries = list(Entry.objects.filter(pk__in=_ids(keys, "watchlists.entry")).select_related("watchlist"))
    lists_shown = set(
        visible_lists.filter(pk__in={entry.watchlist_id for entry in entries}).values_list("pk", flat=True)
    )
    for entry in entries:
        url = reverse("watchlists:detail", args=[entry.watchlist_id])
        shown = entry.watchlist_id in lists_shown
        found["watchlists.entry", str(entry.pk)] = Named(
            f"Entry {entry.pk} on {entry.watchlist.reference}", url if shown else None
        )
    deployments = {
        deployment.pk: deployment
        for deployment in Deployment.objects.restrict(user, "view").filter(
            pk__in=_ids(keys, "deployments.deployment")
            + [
                event.data.get("deployment")
                for event in events
                if isinstance(event.data, dict) and isinstance(event.data.get("deployment"), int)
            ]
        )
    }
    for pk in _ids(keys, "deployments.deployment"):
        if pk in deployments:
            found["deployments.deployment", str(pk)] = Named(
                deployments[pk].reference, reverse("deployments:detail", args=[pk])
            )
    alerts = Alert.objects.restrict(user, "view") if policy.may(user, "matching.view_alert") else Alert.objects.none()
    visible_alerts = set(alerts.filter(pk__in=_ids(keys, "matching.alert")).values_list("pk", flat=True))
    for pk, deployment_id, reference in Alert.objects.filter(pk__in=_ids(keys, "matching.alert")).values_list(
        "pk", "deployment_id", "deployment__reference"
    ):
        url = reverse("matching:alerts", args=[deployment_id]) + f"#alert-{pk}" if pk in visible_alerts else None
        found["matching.alert", str(pk)] = Named(f"Alert {pk} at {reference}", url)
    for event in events:
        if event.target_type == "matching.alert" and not event.target_id.isdigit():
            deployment = deployments.get((event.data or {}).get("deployment")) if isinstance(event.data, dict) else None
            what = {"list": "Alert queue", "misidentifications": "Misidentifications"}.get(
                event.target_id, event.target_id
            )
            if deployment is not None and policy.may(user, "matching.view_alert"):
                url = reverse("matching:alerts", args=[deployment.pk])
                found[event.target_type, event.target_id + f"@{deployment.pk}"] = Named(
                    f"{what} of {deployment.reference}", url
                )
    searches = SearchRequest.objects.restrict(user, "view") if policy.may(user, "matching.view_searchrequest") else None
    for pk, reference in SearchRequest.objects.filter(pk__in=_ids(keys, "matching.searchrequest")).values_list(
        "pk", "reference"
    ):
        shown = searches is not None and searches.filter(pk=pk).exists()
        found["matching.searchrequest", str(pk)] = Named(
            reference, reverse("matching:search", args=[pk]) if shown else None
        )
    for pk, position, request_id, reference in Probe.objects.filter(pk__in=_ids(keys, "matching.probe")).values_list(
        "pk", "position", "request_id", "request__reference"
    ):
        shown = searches is not None and searches.filter(pk=request_id).exists()
        url = reverse("matching:search", args=[request_id]) if shown else None
        found["matching.probe", str(pk)] = Named(f"Still {position} of {reference}", url)
    for pk in _ids(keys, "disclosures.disclosurecase"):
        # Oversight sits beside disclosures (neither imports the other): the case is named by number, linked by route.
        url = _link(user, "disclosures.view_disclosurecase", reverse("disclosures:case", args=[pk]))
        found["disclosures.disclosurecase", str(pk)] = Named(f"Sarah's Law case {pk}", url)
    for pk, username in (
        get_user_model().objects.filter(pk__in=_ids(keys, "accounts.user")).values_list("pk", "username")
    ):
        found["accounts.user", str(pk)] = Named(f"Account {username}")
    found["audit.event", "access-log"] = Named("The access log", _link(user, "oversight.view_accesslog", access))
    found["audit.event", "events"] = Named("The audit log", _link(user, "audit.view_event", reverse("audit:events")))
    found["watchlists.subject", "search"] = Named("A search of subjects")
    return found


def named(found: dict[tuple[str, str], Named], event) -> Named:
    """What `describe` found for the record an event names; the raw `type:id` when it is no record Govern knows."""
    if isinstance(event.data, dict) and event.data.get("deployment") is not None:
        listed = found.get((event.target_type, f"{event.target_id}@{event.data['deployment']}"))
        if listed is not None:
            return listed
    return found.get((event.target_type, event.target_id)) or Named(
        f"{event.target_type}:{event.target_id}" if event.target_type else ""
    )


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


EXPORT_CHUNK = 2_000  # events read, flagged and written at a time while an export streams


def exported(chosen: AccessFilter) -> tuple[int, Iterator[Row]]:
    """An export's rows: at most EXPORT_LIMIT, newest first, flagged a chunk at a time as they are read, and how
    many there are. The rows are those of the log as it stood when asked (reads logged while the export streams are
    left out), so the count the export is logged with is the count it sends."""
    heavy = heavy_readers(chosen.start, chosen.end)
    found = search(chosen, heavy).filter(seq__lt=audit.tree_size()).defer("canonical")
    events = found[:EXPORT_LIMIT]
    count = found.order_by()[:EXPORT_LIMIT].count()  # unordered: any plan may count them

    def rows():
        chunk = []
        for event in events.iterator(chunk_size=EXPORT_CHUNK):
            chunk.append(event)
            if len(chunk) == EXPORT_CHUNK:
                yield from flag(chunk, chosen, heavy)
                chunk = []
        yield from flag(chunk, chosen, heavy)

    return count, rows()


def csv_export(rows) -> Iterator[str]:
    """The rows as CSV for the Information Commissioner, a line at a time (to stream)."""
    return spreadsheet.csv_lines(EXPORT_FIELDS, ({**_record(row), "flags": " ".join(row.flags)} for row in rows))


def json_export(rows) -> bytes:
    """The rows as one JSON document for the Information Commissioner."""
    records = [_record(row) for row in rows]
    document = {"format": "govern-access-log/1", "count": len(records), "events": records}
    return json.dumps(document, indent=1, ensure_ascii=False).encode()
