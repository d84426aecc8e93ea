"""Every oversight state change: retention policies and the sweep, countersigned threshold and engine changes,
and the notifications that tell privacy officers what does not reconcile.

Deletions go through the owning app's services (matching, watchlists), so each leaves its own receipt.
"""

import datetime
import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.audit import services as audit
from apps.deployments import services as deployments
from apps.deployments.models import Deployment
from apps.matching import evaluation as engine_figures
from apps.matching.models import FALSE_ALERTS, TRUE_ALERTS, EngineEvaluation
from apps.matching.services import alert_handling, engine_approval, retrospective
from apps.watchlists.services import watchlists
from govern import policy
from govern.errors import Conflict
from govern.roles import Role

from . import equality, reconciliation, sweep
from .choices import ChangeKind, ChangeState, DataClass, Level
from .models import GovernedChange, Notification, RetentionPolicy, RetentionReview
from .retention import bounds_hours, policies_out_of_bounds, retention_hours
from .sweep import SweepItem

logger = logging.getLogger(__name__)

MIN_REASON = 20
EVIDENCE_TYPES = {"application/pdf", "text/plain", "text/csv", "application/json"}


def _reason(reason: str, what: str = "reason") -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError({what: f"Give the {what.replace('_', ' ')} in at least {MIN_REASON} characters."})
    return reason


# --- Retention ------------------------------------------------------------------------------------------------------


@transaction.atomic
def set_retention(actor, data_class: str, *, hours: int, reason: str, now=None) -> RetentionPolicy:
    """A privacy officer sets how long a data class is kept, with the reason; access logs never below the law."""
    policy.require(actor, "oversight.change_retentionpolicy")
    if data_class not in DataClass.values:
        raise ValidationError({"data_class": f"Choose one of: {', '.join(DataClass.values)}."})
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 0:
        raise ValidationError({"hours": "A whole number of hours, zero or more."})
    floor, ceiling = bounds_hours(data_class)
    if not floor <= hours <= ceiling:
        label = DataClass(data_class).label
        raise ValidationError(
            {"hours": f"{label}: kept at least {floor // 24} and at most {ceiling // 24} days (the legal period)."}
        )
    reason = _reason(reason)
    previous = retention_hours(data_class)
    found = RetentionPolicy.objects.select_for_update().filter(data_class=data_class).first()
    found = found or RetentionPolicy(data_class=data_class)
    found.hours, found.reason, found.changed_by, found.changed_at = hours, reason, actor, now or timezone.now()
    found.save()
    audit.record(
        "retention.policy_set",
        found,
        actor,
        data={"data_class": data_class, "hours": hours, "previous_hours": previous},
        reason=reason,
    )
    return found


@transaction.atomic
def review_retention(actor, data_class: str, *, finding: str, next_review_on, now=None) -> RetentionReview:
    """A privacy officer records a review of a class's period: what they found and when it is next due (within
    RETENTION_REVIEW_MAX_DAYS). The period itself changes only through `set_retention`."""
    policy.require(actor, "oversight.review_retentionpolicy")
    if data_class not in DataClass.values:
        raise ValidationError({"data_class": f"Choose one of: {', '.join(DataClass.values)}."})
    now = now or timezone.now()
    today = timezone.localdate(now)
    latest = today + datetime.timedelta(days=settings.RETENTION_REVIEW_MAX_DAYS)
    if not isinstance(next_review_on, datetime.date) or not today < next_review_on <= latest:
        raise ValidationError({"next_review_on": f"A date after today and no later than {latest:%d %b %Y}."})
    finding = _reason(finding, "finding")
    review = RetentionReview.objects.create(
        data_class=data_class,
        hours=retention_hours(data_class),
        finding=finding,
        reviewed_by=actor,
        reviewed_at=now,
        next_review_on=next_review_on,
    )
    audit.record(
        "retention.reviewed",
        review,
        actor,
        data={"data_class": data_class, "hours": review.hours, "next_review_on": next_review_on.isoformat()},
        reason=finding,
    )
    return review


_SWEEP_LOCK = 7_245_006  # one retention sweep at a time


def retention_sweep(now=None, dry_run: bool = False) -> list[SweepItem]:
    """Delete what is past retention and not on hold, through each app's services; idempotent, one at a time."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_SWEEP_LOCK])
        if not cursor.fetchone()[0]:
            return []
    try:
        items = _sweep(now, dry_run)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_SWEEP_LOCK])
    deleted = [item for item in items if item.outcome == "deleted"]
    if deleted and not dry_run:
        with transaction.atomic():
            counts = {}
            for item in deleted:
                counts[item.data_class] = counts.get(item.data_class, 0) + item.count
            audit.record("retention.sweep", ("oversight.retention", "sweep"), None, data={"deleted": counts})
    return items


def _sweep(now, dry_run: bool) -> list[SweepItem]:
    items = []
    for data_class, judged in ((DataClass.FALSE_ALERTS, FALSE_ALERTS), (DataClass.CONFIRMED_ALERTS, TRUE_ALERTS)):
        hours = retention_hours(data_class)
        _due, held = reconciliation.due_items(data_class, hours, now)
        for alert in held:
            detail = f"held by {alert.hold_by.get_username() if alert.hold_by else '?'}: {alert.hold_reason}"
            items.append(SweepItem(data_class, f"alert {alert.pk}", "held", detail))
        for pk in alert_handling.retention_sweep(now=now, dry_run=dry_run, judged=judged, hours=hours):
            items.append(SweepItem(data_class, f"alert {pk}", "due" if dry_run else "deleted", "probe image"))
    hours = retention_hours(DataClass.RETROSPECTIVE_PROBES)
    for request in reconciliation.due_items(DataClass.RETROSPECTIVE_PROBES, hours, now)[0]:
        if dry_run:
            items.append(SweepItem(DataClass.RETROSPECTIVE_PROBES, request.reference, "due", "candidate lists"))
        elif retrospective.forget_candidates(request.pk, hours=hours, now=now):
            items.append(SweepItem(DataClass.RETROSPECTIVE_PROBES, request.reference, "deleted", "candidate lists"))
    hours = retention_hours(DataClass.WATCHLISTS)
    for watchlist in reconciliation.due_items(DataClass.WATCHLISTS, hours, now)[0]:
        if dry_run:
            items.append(SweepItem(DataClass.WATCHLISTS, watchlist.reference, "due", "entries and templates"))
        elif watchlists.purge(watchlist, now=now) is not None:
            items.append(SweepItem(DataClass.WATCHLISTS, watchlist.reference, "deleted", "entries and templates"))
    for data_class in sweep.CLASSES:
        items += sweep.sweep_class(data_class, retention_hours(data_class), now, dry_run)
    return items


# --- The threshold and the engine: proposed by an authorising officer, countersigned by a privacy officer ---------


def current_threshold() -> tuple[Decimal, GovernedChange | None]:
    """The match threshold in force and the change that set it (None: the configured MATCH_THRESHOLD)."""
    change = GovernedChange.objects.filter(kind=ChangeKind.THRESHOLD, state=ChangeState.IN_FORCE).first()
    return (change.threshold, change) if change else (settings.MATCH_THRESHOLD, None)


def withdrawn_threshold() -> GovernedChange | None:
    """The last threshold change, when it was withdrawn and nothing has been countersigned since: then no threshold
    is in force (the configured default applies only where no threshold was ever governed)."""
    last = GovernedChange.objects.filter(kind=ChangeKind.THRESHOLD).exclude(
        state__in=[ChangeState.PROPOSED, ChangeState.REJECTED]
    )
    last = last.order_by("-version").first()
    return last if last is not None and last.state == ChangeState.WITHDRAWN else None


def threshold_condition(deployment, now) -> deployments.Condition:
    """The go-live gate's threshold condition: the deployment runs at the governed threshold, above the floor."""
    threshold, change = current_threshold()
    source = f"version {change.version}, countersigned" if change else "the configured default"
    withdrawn = withdrawn_threshold() if change is None else None
    if withdrawn is not None:  # one person's withdrawal must not bring back a default nobody countersigned
        return deployments.Condition(
            "threshold",
            False,
            f"No threshold is in force: version {withdrawn.version} ({withdrawn.threshold}) was withdrawn. "
            "Propose one and have it countersigned.",
        )
    if deployment.threshold < settings.MATCH_THRESHOLD_FLOOR:
        return deployments.Condition(
            "threshold", False, f"Threshold {deployment.threshold} is below the floor {settings.MATCH_THRESHOLD_FLOOR}."
        )
    if deployment.threshold != threshold:
        return deployments.Condition(
            "threshold",
            False,
            f"Threshold {deployment.threshold} is not the governed threshold {threshold} ({source}); "
            "a different threshold needs a countersigned change.",
        )
    return deployments.Condition("threshold", True, f"Threshold {threshold} is the governed threshold ({source}).")


def _evidence(evidence) -> tuple[str, str, bytes]:
    """(name, content type, bytes) of an uploaded test report, which may accompany the computed evaluation; refused
    when empty, too big or odd. None: no file."""
    if evidence is None:
        return "", "", b""
    name = getattr(evidence, "name", "") or "evidence"
    content_type = (getattr(evidence, "content_type", "") or "").split(";")[0].strip().lower()
    size = getattr(evidence, "size", None)
    if size is not None and size > settings.GOVERNANCE_EVIDENCE_MAX_BYTES:
        raise ValidationError(
            {"evidence": f"The report is larger than {settings.GOVERNANCE_EVIDENCE_MAX_BYTES} bytes."}
        )
    data = evidence.read(settings.GOVERNANCE_EVIDENCE_MAX_BYTES + 1)
    if len(data) > settings.GOVERNANCE_EVIDENCE_MAX_BYTES:
        raise ValidationError(
            {"evidence": f"The report is larger than {settings.GOVERNANCE_EVIDENCE_MAX_BYTES} bytes."}
        )
    if not data:
        raise ValidationError({"evidence": "The report is empty."})
    if content_type not in EVIDENCE_TYPES:
        raise ValidationError({"evidence": f"Attach a PDF, text, CSV or JSON report, not {content_type or 'unknown'}."})
    if content_type == "application/pdf" and not data.startswith(b"%PDF-"):
        raise ValidationError({"evidence": "The file says it is a PDF but is not one."})
    return name[:200], content_type, data


def _threshold_value(value) -> Decimal:
    try:
        threshold = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"threshold": "The threshold is a number between 0 and 1."}) from None
    if not threshold.is_finite() or not 0 <= threshold <= 1 or threshold.as_tuple().exponent < -3:
        raise ValidationError({"threshold": "The threshold is a number between 0 and 1, with at most three decimals."})
    if threshold < settings.MATCH_THRESHOLD_FLOOR:
        raise ValidationError(
            {"threshold": f"{threshold} is below the floor {settings.MATCH_THRESHOLD_FLOOR}: no threshold goes there."}
        )
    return threshold.quantize(Decimal("0.001"))


def list_size_to_govern() -> int:
    """The list size a threshold must be safe for: the largest approved watchlist, never less than
    EVALUATION_LIST_SIZE."""
    return max(settings.EVALUATION_LIST_SIZE, watchlists.largest_approved_size())


def cited_evaluation(value) -> EngineEvaluation:
    """The computed evaluation a proposal cites: one of the engine in force (its name and weights hash)."""
    if isinstance(value, EngineEvaluation):
        value = value.pk
    if value in (None, ""):
        raise ValidationError({"evaluation": "Cite an evaluation of the engine in force (manage.py evaluate_engine)."})
    try:
        report = EngineEvaluation.objects.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        report = None
    name, weights, _ = engine_approval.engine_identity()
    if report is None or (report.engine_name, report.engine_weights_sha256) != (name, weights):
        raise ValidationError(
            {"evaluation": f"Evaluation {value} is not an evaluation of the engine in force ({name}, {weights[:12]}…)."}
        )
    return report


def safety(report: EngineEvaluation, threshold: Decimal) -> dict:
    """What the cited evaluation forecasts at this threshold for the list size governed, against the ceiling; refused
    (ValidationError) where the forecast's upper end is above the ceiling, unless the engine is uncalibrated and
    FACE_ALLOW_UNCALIBRATED is set (tests and the demo: it recognises nobody, and the record says it was waived)."""
    list_size, ceiling = list_size_to_govern(), settings.EVALUATION_MAX_FALSE_ALERTS_PER_1000
    forecast = engine_figures.forecast(report.figures, threshold, list_size)
    lowest_safe = engine_figures.safe_threshold(report.figures, list_size, float(ceiling))
    found = {
        "evaluation": report.pk,
        "threshold": str(threshold),
        "list_size": list_size,
        "ceiling_per_1000": str(ceiling),
        "read_at": forecast["threshold"] if forecast else None,
        "per_1000": forecast["per_1000"] if forecast else None,
        "per_1000_high": forecast["high"] if forecast else None,
        "lowest_safe": lowest_safe,
        "safe": forecast is not None and forecast["high"] <= ceiling,
        "waived": False,
    }
    if found["safe"]:
        return found
    if forecast is None:
        problem = f"Evaluation {report.pk} does not reach down to {threshold}: no figure says it is safe."
    else:
        problem = (
            f"At {threshold}, evaluation {report.pk} forecasts up to {forecast['high']:.3g} false alerts per 1,000 "
            f"passers-by for a list of {list_size:,} (at most {ceiling} allowed); "
            + (f"its lowest safe threshold is {lowest_safe}." if lowest_safe else "no threshold in it is safe.")
        )
    if not report.figures or engine_approval.engine_identity()[2] or not settings.FACE_ALLOW_UNCALIBRATED:
        raise ValidationError({"threshold": problem})
    return {**found, "waived": True, "problem": problem}


@transaction.atomic
def propose(
    actor,
    kind: str,
    *,
    reason: str,
    equality_evidence: str,
    evaluation=None,
    evidence=None,
    threshold=None,
    now=None,
):
    """An authorising officer proposes a new threshold, or approval of the engine in use, citing a computed evaluation
    of the engine in force that shows the threshold safe for the lists governed (a test report may accompany it)."""
    policy.require(actor, "oversight.propose_governedchange")
    if kind not in ChangeKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(ChangeKind.values)}."})
    fields = {}
    if kind == ChangeKind.THRESHOLD:
        fields["threshold"] = _threshold_value(threshold)
    else:
        name, weights, calibrated = engine_approval.engine_identity()
        fields.update(engine_name=name, engine_weights_sha256=weights, engine_calibrated=calibrated)
    report = cited_evaluation(evaluation)
    fields.update(evaluation=report, safety=safety(report, fields.get("threshold") or current_threshold()[0]))
    reason = _reason(reason)
    equality_evidence = _reason(equality_evidence, "equality_evidence")
    evidence_name, content_type, data = _evidence(evidence)
    # Serialise proposals of one kind: the version and the one-open rule hold under concurrency.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(7245007, hashtext(%s))", [kind])
    if GovernedChange.objects.filter(kind=kind, state=ChangeState.PROPOSED).exists():
        raise Conflict("A change of this kind is already awaiting countersignature; decide it first.")
    version = (GovernedChange.objects.filter(kind=kind).aggregate(v=Max("version"))["v"] or 0) + 1
    change = GovernedChange.objects.create(
        kind=kind,
        version=version,
        reason=reason,
        equality_evidence=equality_evidence,
        evidence_name=evidence_name,
        evidence_content_type=content_type,
        evidence_sha256=hashlib.sha256(data).hexdigest() if data else "",
        evidence=data,
        proposed_by=actor,
        proposed_at=now or timezone.now(),
        **fields,
    )
    audit.record("governance.proposed", change, actor, data=_change_data(change), reason=reason)
    return change


def _change_data(change: GovernedChange) -> dict:
    data = {"kind": change.kind, "version": change.version, "evidence_sha256": change.evidence_sha256}
    if change.evaluation_id:
        data.update(evaluation=change.evaluation_id, safety=change.safety)
    if change.kind == ChangeKind.THRESHOLD:
        data["threshold"] = str(change.threshold)
    else:
        data.update(engine=change.engine_name, weights_sha256=change.engine_weights_sha256)
    return data


def _lock_change(change: GovernedChange) -> GovernedChange:
    return GovernedChange.objects.select_for_update().get(pk=change.pk)


@transaction.atomic
def countersign(actor, change: GovernedChange, *, note: str = "", now=None) -> GovernedChange:
    """A privacy officer (not the proposer) countersigns: the change comes into force and the last one ends."""
    locked = _lock_change(change)
    policy.require(actor, "oversight.countersign_governedchange", locked)
    if locked.state != ChangeState.PROPOSED:
        raise Conflict(f"This change is {locked.get_state_display().lower()}; only a proposal can be countersigned.")
    # The floor may have been raised, a larger list approved or the engine changed since it was proposed.
    if locked.kind == ChangeKind.THRESHOLD:
        _threshold_value(locked.threshold)
    if not locked.evaluation_id:
        # Proposed before a computed evaluation was required: it comes into force only on one, so propose it again.
        raise Conflict("This proposal cites no computed evaluation of the engine; propose it again citing one.")
    locked.safety = safety(cited_evaluation(locked.evaluation_id), locked.threshold or current_threshold()[0])
    if locked.kind == ChangeKind.ENGINE:
        name, weights, _ = engine_approval.engine_identity()
        if (name, weights) != (locked.engine_name, locked.engine_weights_sha256):
            raise Conflict("The engine running now is not the one proposed; propose the engine in use again.")
        engine_approval.approve_engine(locked.proposed_by, reason=locked.reason, countersigned_by=actor)
    GovernedChange.objects.filter(kind=locked.kind, state=ChangeState.IN_FORCE).update(state=ChangeState.SUPERSEDED)
    locked.state, locked.decided_by, locked.decided_at = ChangeState.IN_FORCE, actor, now or timezone.now()
    locked.decision_note = note.strip()
    locked.save()
    audit.record("governance.countersigned", locked, actor, data=_change_data(locked), reason=note)
    return locked


@transaction.atomic
def reject(actor, change: GovernedChange, *, note: str, now=None) -> GovernedChange:
    """A privacy officer declines to countersign, saying why; the setting in force stays."""
    locked = _lock_change(change)
    policy.require(actor, "oversight.countersign_governedchange", locked)
    if locked.state != ChangeState.PROPOSED:
        raise Conflict(f"This change is {locked.get_state_display().lower()}; only a proposal can be rejected.")
    note = _reason(note, "note")
    locked.state, locked.decided_by, locked.decided_at, locked.decision_note = (
        ChangeState.REJECTED,
        actor,
        now or timezone.now(),
        note,
    )
    locked.save()
    audit.record("governance.rejected", locked, actor, data=_change_data(locked), reason=note)
    return locked


@transaction.atomic
def withdraw(actor, change: GovernedChange, *, reason: str, now=None) -> GovernedChange:
    """An authorising or privacy officer withdraws a threshold or engine in force, saying why: the deployments that
    use it stop through the emergency stop, the withdrawal as their reason, and run again only once authorised anew.
    A withdrawn threshold leaves the configured default in force (an earlier version does not come back: it was
    superseded); a withdrawn engine's own approval goes with it."""
    locked = _lock_change(change)
    policy.require(actor, "oversight.withdraw_governedchange", locked)
    if locked.state != ChangeState.IN_FORCE:
        raise Conflict(f"This change is {locked.get_state_display().lower()}; only one in force can be withdrawn.")
    reason = _reason(reason)
    locked.state = ChangeState.WITHDRAWN
    locked.save(update_fields=["state"])
    audit.record("governance.withdrawn", locked, actor, data=_change_data(locked), reason=reason)
    why = f"{locked.get_kind_display()} v{locked.version} ({locked.value_label}) was withdrawn: {reason}"
    if locked.kind == ChangeKind.ENGINE:
        engine_approval.withdraw_engine(
            actor, reason=why, name=locked.engine_name, weights=locked.engine_weights_sha256
        )
    else:
        using = Deployment.objects.filter(threshold=locked.threshold)
        cause = {"withdrawn": f"threshold v{locked.version}"}
        deployments.emergency_stop(actor, why, among=using, cause=cause)
    return locked


# --- Findings and notifications -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Something that does not reconcile or is overdue."""

    key: str
    title: str
    message: str
    url: str = ""
    level: str = Level.RED


def findings(now=None) -> list[Finding]:
    """Every open problem: unbalanced ledgers, unfinished purges, data kept past retention."""
    now = now or timezone.now()
    found = []
    for ledger in reconciliation.ledgers():
        if not ledger.reconciles:
            reference = ledger.deployment.reference
            found.append(
                Finding(
                    f"reconcile:deployment:{ledger.deployment.pk}",
                    f"{reference}: faces do not reconcile",
                    f"{ledger.faces} faces, {ledger.alerts} alerts, {ledger.receipts} receipts. {ledger.problem}",
                    reverse("oversight:deployment", args=[ledger.deployment.pk]),
                )
            )
    for status in reconciliation.purge_statuses(now):
        if not status.ok:
            found.append(
                Finding(
                    f"purge:watchlist:{status.watchlist.pk}",
                    f"{status.watchlist.reference}: purge incomplete",
                    " ".join(status.problems),
                    reverse("oversight:dashboard") + "#purges",
                )
            )
    for status in reconciliation.evidence_statuses(now):
        if not status.ok:
            found.append(
                Finding(
                    f"evidence:{status.kind}",
                    f"{status.label}: deletion evidence incomplete",
                    " ".join(status.problems),
                    reverse("oversight:dashboard") + "#deletion-evidence",
                )
            )
    for status in reconciliation.retention_statuses(now):
        if status.overdue:
            found.append(
                Finding(
                    f"retention:{status.data_class}",
                    f"{status.label}: past retention",
                    f"{status.due} item(s) are past their {status.hours}-hour retention and not on hold.",
                    reverse("oversight:dashboard") + "#retention",
                    Level.AMBER,
                )
            )
        if status.review is not None and status.review.next_review_on < timezone.localdate(now):
            found.append(
                Finding(
                    f"retention_review:{status.data_class}",
                    f"{status.label}: review of the period overdue",
                    f"The period was last reviewed on {status.review.reviewed_at:%d %b %Y}; the next review was due "
                    f"on {status.review.next_review_on:%d %b %Y}.",
                    reverse("oversight:retention"),
                    Level.AMBER,
                )
            )
    for data_class, hours, low, high in policies_out_of_bounds():
        found.append(
            Finding(
                f"retention_bounds:{data_class}",
                f"{DataClass(data_class).label}: stored period outside the law's bounds",
                f"The stored period of {hours} hours is outside {low} to {high} hours; "
                f"{min(max(hours, low), high)} hours applies until it is set again.",
                reverse("oversight:retention"),
            )
        )
    for standout in equality.all_standouts():
        found.append(
            Finding(
                standout.key,
                f"Equality: false alerts stand out for {standout.cell.label.lower()} at threshold {standout.threshold}",
                standout.message,
                reverse("oversight:equality") + "#standouts",
            )
        )
    return found


def thresholds_for_review() -> set[tuple[str, Decimal]]:
    """(engine, threshold) pairs an open equality finding has marked for review."""
    marked = set()
    for key in Notification.objects.filter(resolved_at__isnull=True, key__startswith="equality:").values_list(
        "key", flat=True
    ):
        engine, threshold, _dimension, _group = key.removeprefix("equality:").rsplit(":", 3)
        marked.add((engine, Decimal(threshold)))
    return marked


def _recipients() -> list[str]:
    return list(
        User.objects.filter(groups__name=Role.PRIVACY_OFFICER, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )


def check(now=None) -> tuple[list[Notification], list[Notification]]:
    """Raise a notification for each new finding (once), resolve those that no longer hold; (raised, resolved)."""
    now = now or timezone.now()
    current = {finding.key: finding for finding in findings(now)}
    raised, resolved = [], []
    with transaction.atomic():
        open_ones = {n.key: n for n in Notification.objects.select_for_update().filter(resolved_at__isnull=True)}
        for key, finding in current.items():
            if key in open_ones:
                continue
            notification = Notification.objects.create(
                key=key,
                level=finding.level,
                title=finding.title,
                message=finding.message,
                url=finding.url,
                raised_at=now,
            )
            audit.record("oversight.notified", notification, None, data={"key": key, "title": finding.title})
            raised.append(notification)
        for key, notification in open_ones.items():
            if key not in current:
                notification.resolved_at = now
                notification.save(update_fields=["resolved_at"])
                audit.record("oversight.resolved", notification, None, data={"key": key})
                resolved.append(notification)
    if raised:
        transaction.on_commit(lambda: _mail(raised))
    return raised, resolved


def _mail(raised: list[Notification]) -> None:
    recipients = _recipients()
    if not recipients:
        return
    lines = [f"- {n.title}: {n.message}" for n in raised]
    try:
        send_mail(
            f"Govern oversight: {len(raised)} new finding(s)",
            "Findings that need a privacy officer:\n\n" + "\n".join(lines) + "\n\nOpen the oversight dashboard.",
            None,
            recipients,
        )
    except OSError:
        logger.exception("Could not e-mail the privacy officers; the notifications are on the dashboard.")


@transaction.atomic
def log_access_export(actor, chosen, count: int, fmt: str) -> None:
    """An export of the access log is itself a disclosure, logged with its filters."""
    policy.require(actor, "oversight.export_accesslog")
    filters = {k: (str(v) if v is not None else None) for k, v in vars(chosen).items() if v not in (None, "", False)}
    audit.record_export(
        "access_log.exported",
        ("audit.event", "access-log"),
        actor,
        filters=filters,
        rows=count,
        fmt=fmt,
        reason="Access log export for oversight",
    )
