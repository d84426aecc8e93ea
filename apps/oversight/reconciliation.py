"""What the privacy officer checks: each deployment's ledger, each list's purge, the evidence that every deleted
biometric is gone, and data kept past retention.

Every finding is computed from the operational tables and the log, never from a stored verdict, so a row changed
behind the services' back (a deleted receipt, a purge that left vectors) shows red the next time anyone looks.
"""

import datetime
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from apps.audit.models import Event
from apps.deployments.models import Deployment
from apps.matching import figures
from apps.matching.choices import Biometric, ProbeState, SearchState
from apps.matching.models import (
    FALSE_ALERTS,
    TRUE_ALERTS,
    Alert,
    Probe,
    SearchRequest,
    WatchlistTemplate,
)
from apps.matching.services import deletion_evidence
from apps.matching.services.alert_handling import alerts_past_retention
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Manifest, Watchlist

from . import sweep
from .choices import DataClass
from .models import RetentionReview
from .retention import bounds_hours, every_retention_hours, latest_reviews

VACUUM_GRACE = datetime.timedelta(hours=1)  # the vacuum runs on a worker after the purge commits


def _data(canonical: str | None) -> dict:
    return json.loads(canonical)["data"] if canonical else {}


@dataclass
class Ledger:
    """One deployment's faces, alerts and deletion receipts, whether faces = alerts + receipts, and whether the
    figures it publishes say the same."""

    deployment: Deployment
    faces: int
    alerts: int
    receipts: int
    published_faces: int = 0
    published_alerts: int = 0
    false_alerts: int = 0
    # Per track (figures.Tally): a frame's face is a track of one face, so by default as many as faces, alerts and
    # receipts say; a capture agent's tracks hold several faces, and its sightings are alerted tracks too.
    tracks: int | None = None
    sightings: int = 0
    alert_faces: int | None = None
    receipt_faces: int | None = None

    def __post_init__(self):
        figures.per_track_defaults(self)

    @property
    def reconciles(self) -> bool:
        return not self.problem

    @property
    def problem(self) -> str:
        """Why the ledger is red, in words; blank when it balances per track (faces = faces in alerted tracks +
        faces in receipted tracks; tracks = alerted tracks + receipted tracks) and the published figures agree."""
        gap = self.faces - self.alert_faces - self.receipt_faces
        if gap > 0:
            return f"{gap} face(s) processed with neither an alert nor a deletion receipt."
        if gap < 0:
            return f"{-gap} more face(s) in alerts and receipts than faces processed."
        tracks = self.tracks - self.alerts - self.sightings - self.receipts
        if tracks > 0:
            return f"{tracks} track(s) with neither an alert, a sighting nor a deletion receipt."
        if tracks < 0:
            return f"{-tracks} more alert(s), sighting(s) and receipt(s) than tracks."
        if (self.published_faces, self.published_alerts) != (self.faces, self.alerts):
            return (
                f"The published figures say {self.published_faces} face(s) and {self.published_alerts} alert(s); "
                f"the ledger holds {self.faces} and {self.alerts}."
            )
        return ""


def ledgers(deployments=None) -> list[Ledger]:
    """The ledger of every deployment (or of those given), newest first, counted by `figures.by_deployment` (the
    same count the charts draw) in three grouped queries."""
    chosen = Deployment.objects.all() if deployments is None else deployments
    counted = {tally.key: tally for tally in figures.by_deployment(chosen)}
    found = []
    for deployment in chosen.select_related("figures").order_by("-start", "-pk"):
        tally = counted[deployment.pk]
        published = getattr(deployment, "figures", None)
        found.append(
            Ledger(
                deployment,
                tally.faces,
                tally.alerts,
                tally.receipts,
                published.faces_processed if published else 0,
                published.alerts if published else 0,
                tally.false_alerts,
                tracks=tally.tracks,
                sightings=tally.sightings,
                alert_faces=tally.alert_faces,
                receipt_faces=tally.receipt_faces,
            )
        )
    return found


def tallies(found: list[Ledger]) -> list[figures.Tally]:
    """The ledgers as the figures' tallies, so the dashboard's charts draw the very counts its table shows."""
    return [
        figures.Tally(
            ledger.deployment.pk,
            ledger.deployment.reference,
            faces=ledger.faces,
            alerts=ledger.alerts,
            false_alerts=ledger.false_alerts,
            receipts=ledger.receipts,
            tracks=ledger.tracks,
            sightings=ledger.sightings,
            alert_faces=ledger.alert_faces,
            receipt_faces=ledger.receipt_faces,
        )
        for ledger in found
    ]


@dataclass
class PurgeStatus:
    """Where one ended watchlist stands on its way to a manifest."""

    watchlist: Watchlist
    templates_left: int
    absence_confirmed: bool
    vacuumed: bool
    receipt: bool
    manifest: bool
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def purge_statuses(now=None) -> list[PurgeStatus]:
    """Each expired or purged watchlist: templates gone, index vacuumed, absence confirmed, receipt and manifest."""
    now = now or timezone.now()
    lists = list(Watchlist.objects.filter(state__in=[WatchlistState.EXPIRED, WatchlistState.PURGED]))
    ids = [str(w.pk) for w in lists]
    events = {}
    for target_id, action, canonical, seq in Event.objects.filter(
        target_type="watchlists.watchlist",
        target_id__in=ids,
        action__in=["templates.purged", "templates.vacuumed", "watchlist.purge", "biometric.absence_confirmed"],
    ).values_list("target_id", "action", "canonical", "seq"):
        events.setdefault(int(target_id), {})[action] = canonical
        if action == "biometric.absence_confirmed":
            events[int(target_id)]["evidence_seq"] = seq
    vacuumed_through = deletion_evidence.vacuumed_through(Biometric.WATCHLIST_TEMPLATE)
    left = dict(
        WatchlistTemplate.objects.filter(watchlist_id__in=[w.pk for w in lists])
        .values("watchlist_id")
        .annotate(n=Count("pk"))
        .values_list("watchlist_id", "n")
    )
    manifests = set(
        Manifest.objects.filter(watchlist_id__in=[w.pk for w in lists]).values_list("watchlist_id", flat=True)
    )
    statuses = []
    for watchlist in lists:
        logged = events.get(watchlist.pk, {})
        status = PurgeStatus(
            watchlist,
            templates_left=left.get(watchlist.pk, 0),
            absence_confirmed=_data(logged.get("templates.purged")).get("absence_confirmed_by_exact_search") is True,
            # A list with no template to delete has nothing to vacuum; "templates.vacuumed" is how purges before the
            # general deletion evidence logged theirs.
            vacuumed="templates.vacuumed" in logged or logged.get("evidence_seq", -1) <= vacuumed_through,
            receipt="watchlist.purge" in logged,
            manifest=watchlist.pk in manifests,
        )
        if watchlist.state == WatchlistState.EXPIRED:
            if watchlist.purge_due_at is not None and watchlist.purge_due_at < now:
                status.problems.append(
                    f"Purge overdue since {timezone.localtime(watchlist.purge_due_at):%d %b %Y %H:%M}."
                )
            if status.templates_left:
                status.problems.append(f"{status.templates_left} template(s) of an expired list are still stored.")
        else:
            if status.templates_left:
                status.problems.append(f"{status.templates_left} template(s) survived the purge.")
            if not status.receipt:
                status.problems.append("No purge receipt in the log.")
            if not status.manifest:
                status.problems.append("No manifest of who was listed.")
            if not status.absence_confirmed and "templates.purged" in logged:
                status.problems.append("The templates' absence was not confirmed by an exact search.")
            if not status.vacuumed and watchlist.updated_at < now - VACUUM_GRACE:
                status.problems.append("The template index was not vacuumed after the purge (is the worker running?).")
        statuses.append(status)
    return statuses


@dataclass
class EvidenceStatus:
    """One kind of biometric: how many were deleted, how many an exact search showed absent, how many a VACUUM has
    taken off the pages since, how many were deleted before this database took deletion evidence (none can exist for
    them: counted, neither green nor red), and what is missing."""

    kind: str
    label: str
    deleted: int
    confirmed: int
    vacuumed: int
    before_evidence: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _deleted_ids(kind: Biometric, began) -> tuple[set[int], set[int]] | None:
    """The rows the operational tables say lost their biometric, split into those deleted since deletion evidence
    began and those before (None where deletion leaves no row to count). A deletion with no time of its own (a still
    whose search was never closed) counts as after: only the services delete, and they log evidence."""
    if kind == Biometric.ALERT_PROBE:
        rows = Alert.objects.filter(probe_deleted_at__isnull=False).values_list("pk", "probe_deleted_at")
    elif kind == Biometric.SEARCH_STILL:
        rows = Probe.objects.filter(state=ProbeState.DELETED).values_list("pk", "request__closed_at")
    else:
        return None
    after, before = set(), set()
    for pk, deleted_at in rows:
        (before if began and deleted_at and deleted_at < began else after).add(pk)
    return after, before


def evidence_statuses(now=None) -> list[EvidenceStatus]:
    """Each kind of biometric's deletion evidence, from the log, checked against the tables: every deletion since
    deletion evidence began shown absent by an exact search, nothing logged absent still held, and each vacuumed
    within the grace period."""
    now = now or timezone.now()
    began = deletion_evidence.evidence_began()
    statuses = []
    for kind in Biometric:
        through = deletion_evidence.vacuumed_through(kind)
        confirmed, vacuumed, unvacuumed = set(), set(), 0
        for seq, created_at, canonical in deletion_evidence.evidence_of(kind).values_list(
            "seq", "created_at", "canonical"
        ):
            ids = set(_data(canonical).get("ids", []))
            confirmed |= ids
            if seq <= through:
                vacuumed |= ids
            elif created_at < now - VACUUM_GRACE:
                unvacuumed += len(ids)
        deleted, before = _deleted_ids(kind, began) or (None, set())
        status = EvidenceStatus(
            kind.value,
            kind.label,
            len(confirmed if deleted is None else deleted),
            len(confirmed),
            len(vacuumed),
            before_evidence=len(before),
        )
        if deleted is not None and deleted - confirmed:
            status.problems.append(f"{len(deleted - confirmed)} deleted with no exact search confirming their absence.")
        survived = deletion_evidence.still_held(kind, sorted(confirmed)) if confirmed else 0
        if survived:
            status.problems.append(f"{survived} logged as deleted are held again.")
        if unvacuumed:
            status.problems.append(f"{unvacuumed} not vacuumed an hour after their deletion (is the worker running?).")
        statuses.append(status)
    return statuses


@dataclass
class RetentionStatus:
    """One data class: its period, what is past it and due, and what an evidential hold keeps."""

    data_class: str
    label: str
    hours: int
    due: int
    held: list = field(default_factory=list)
    note: str = ""
    minimum_days: int = 0
    maximum_days: int = 0
    review: RetentionReview | None = None  # the latest review of the period; None: never reviewed

    @property
    def overdue(self) -> bool:
        return self.due > 0


def _watchlists_due(hours: int, now):
    """Expired lists whose deployment ended more than `hours` ago (their end is their purge time less the window)."""
    window = datetime.timedelta(hours=settings.WATCHLIST_PURGE_AFTER_HOURS)
    ended_before = now - datetime.timedelta(hours=hours) + window
    return Watchlist.objects.filter(state=WatchlistState.EXPIRED, purge_due_at__lte=ended_before)


def _searches_due(hours: int, now):
    cutoff = now - datetime.timedelta(hours=hours)
    return SearchRequest.objects.filter(state=SearchState.CLOSED, closed_at__lte=cutoff).exclude(probes__candidates=[])


def due_items(data_class: str, hours: int, now) -> tuple[list, list]:
    """What is past retention for a data class: (due for deletion, kept by an evidential hold)."""
    cutoff = now - datetime.timedelta(hours=hours)
    if data_class in (DataClass.FALSE_ALERTS, DataClass.CONFIRMED_ALERTS):
        judged = FALSE_ALERTS if data_class == DataClass.FALSE_ALERTS else TRUE_ALERTS
        past = alerts_past_retention(judged, cutoff).select_related("hold_by", "deployment").order_by("pk")
        return [a for a in past if not a.hold_reason], [a for a in past if a.hold_reason]
    if data_class == DataClass.RETROSPECTIVE_PROBES:
        return list(_searches_due(hours, now).distinct().order_by("pk")), []
    if data_class == DataClass.WATCHLISTS:
        return list(_watchlists_due(hours, now).order_by("pk")), []
    return [], []


def retention_statuses(now=None) -> list[RetentionStatus]:
    """Every data class's policy and what is overdue under it."""
    now = now or timezone.now()
    statuses, reviews, in_force = [], latest_reviews(), every_retention_hours(DataClass)
    for data_class in DataClass:
        hours = in_force[data_class]
        due, held = due_items(data_class, hours, now)
        count, note = len(due), ""
        if data_class in sweep.CLASSES:
            count = sweep.count_due(data_class, now - datetime.timedelta(hours=hours))
        if data_class == DataClass.ACCESS_LOGS:
            note = "Consultations past the period are redacted in the log; each keeps its leaf hash, so it verifies."
        elif data_class == DataClass.CUSTODY_IMAGES:
            note = f"Selected here, {sweep.CUSTODY_NOTE}."
        low, high = bounds_hours(data_class)
        statuses.append(
            RetentionStatus(
                data_class.value,
                data_class.label,
                hours,
                count,
                held,
                note,
                low // 24,
                high // 24,
                reviews.get(data_class),
            )
        )
    return statuses
