"""Alerts after they are raised: a human judges every one before anything is done, the deployment's figures are
recounted from the record, and probes are kept or deleted under the retention policy."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from apps.audit import services as audit
from apps.deployments import services as deployments
from apps.deployments.models import Deployment, PublishedFigures
from govern import policy
from govern.errors import Conflict

from ..choices import AlertState, Outcome
from ..models import Alert, Capture, DeletionReceipt


def reconciliation(deployment: Deployment) -> dict:
    """Faces processed, alerts and receipts for a deployment, and whether faces = alerts + receipts."""
    faces = sum(Capture.objects.filter(deployment=deployment).values_list("faces", flat=True))
    alerts = Alert.objects.filter(deployment=deployment).count()
    receipts = DeletionReceipt.objects.filter(deployment=deployment).count()
    return {"faces": faces, "alerts": alerts, "receipts": receipts, "reconciles": faces == alerts + receipts}


# --- Alerts: a human judges every one before anything is done ------------------------------------------------------


def _lock_alert(alert: Alert) -> Alert:
    return Alert.objects.select_for_update(of=("self",)).select_related("deployment").get(pk=alert.pk)


def refresh_figures(deployment: Deployment) -> None:
    """The deployment's published figures, recounted from its captures and alerts (the system records them) after an
    officer's judgement. The figures' row is locked before counting, so a frame committing meanwhile is counted."""
    list(PublishedFigures.objects.select_for_update().filter(deployment=deployment))
    alerts = Alert.objects.filter(deployment=deployment)
    deployments.publish_figures(
        deployment,
        faces_processed=Capture.objects.filter(deployment=deployment).aggregate(faces=Sum("faces"))["faces"] or 0,
        alerts=alerts.count(),
        true_alerts=alerts.filter(state__in=[AlertState.CONFIRMED, AlertState.ENGAGED, AlertState.CLOSED]).count(),
        false_alerts=alerts.filter(state=AlertState.FALSE).count(),
        engagements=alerts.filter(engaged_at__isnull=False).count(),
        arrests=alerts.filter(outcome=Outcome.ARREST).count(),
        other_outcomes=alerts.filter(outcome=Outcome.OTHER_ACTION).count(),
    )


@transaction.atomic
def adjudicate(actor, alert: Alert, *, match: bool, reason: str) -> Alert:
    """An officer judges the alert: a true match, or a false alert, with the reason."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.adjudicate_alert", locked)
    if not reason or len(reason.strip()) < 5:
        raise ValidationError({"reason": "Say what the judgement rests on."})
    if not reason.strip().isprintable():
        raise ValidationError({"reason": "Write the reason as one line of text: no line breaks or control characters."})
    if locked.state != AlertState.PENDING:
        raise Conflict(f"Alert {locked.pk} was already judged ({locked.get_state_display().lower()}).")
    locked.state = AlertState.CONFIRMED if match else AlertState.FALSE
    locked.adjudicated_by, locked.adjudicated_at, locked.adjudication_reason = actor, timezone.now(), reason.strip()
    locked.save()
    audit.record("alert.adjudicated", locked, actor, data={"match": match, "score": locked.score}, reason=reason)
    refresh_figures(locked.deployment)
    return locked


@transaction.atomic
def engage(actor, alert: Alert) -> Alert:
    """Officers speak to the person: only after the alert was judged a true match."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.adjudicate_alert", locked)
    if locked.state != AlertState.CONFIRMED:
        raise Conflict("An engagement is recorded only after the alert was judged a true match.")
    locked.state, locked.engaged_by, locked.engaged_at = AlertState.ENGAGED, actor, timezone.now()
    locked.save()
    audit.record("alert.engaged", locked, actor)
    refresh_figures(locked.deployment)
    return locked


@transaction.atomic
def record_alert_outcome(actor, alert: Alert, *, outcome: str, note: str = "") -> Alert:
    """What followed the engagement: arrest, other action, or none."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.adjudicate_alert", locked)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": f"Choose one of: {', '.join(Outcome.values)}."})
    if locked.state != AlertState.ENGAGED:
        raise Conflict("An outcome is recorded only after an engagement.")
    locked.state, locked.outcome, locked.outcome_note = AlertState.CLOSED, outcome, note.strip()
    locked.save()
    audit.record("alert.outcome", locked, actor, data={"outcome": outcome}, reason=note)
    refresh_figures(locked.deployment)
    return locked


# --- Retention of alerts --------------------------------------------------------------------------------------------


@transaction.atomic
def place_hold(actor, alert: Alert, *, reason: str) -> Alert:
    """An evidential hold: retention will not delete this alert's probe until it is released."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.hold_alert", locked)
    if len(reason.strip()) < 10:
        raise ValidationError({"reason": "Say what the hold is for (at least 10 characters)."})
    if locked.probe_deleted_at is not None:
        raise Conflict("This alert's probe was already deleted under the retention policy.")
    locked.hold_reason, locked.hold_by = reason.strip(), actor
    locked.save()
    audit.record("alert.hold", locked, actor, reason=reason)
    return locked


@transaction.atomic
def release_hold(actor, alert: Alert, *, reason: str) -> Alert:
    """Release an evidential hold."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.hold_alert", locked)
    if not locked.hold_reason:
        raise Conflict("This alert has no evidential hold.")
    locked.hold_reason, locked.hold_by = "", None
    locked.save()
    audit.record("alert.hold_released", locked, actor, reason=reason)
    return locked


def alerts_past_retention(states, cutoff):
    """Alerts in these states judged at or before the cutoff whose probe is still held (held ones included)."""
    return Alert.objects.filter(state__in=list(states), adjudicated_at__lte=cutoff, probe_deleted_at__isnull=True)


def retention_sweep(now=None, dry_run: bool = False, *, states=(AlertState.FALSE,), hours=None) -> list[int]:
    """Delete the probes of alerts in `states` judged more than `hours` ago and not on hold, each with a receipt.

    The oversight app's retention sweep calls this once per data class with the privacy officers' policy; the
    default is false alerts after ALERT_FALSE_RETENTION_DAYS. The alert row stays (its counts, judgement and
    receipt), so faces = alerts + receipts still holds.
    """
    now = now or timezone.now()
    hours = settings.ALERT_FALSE_RETENTION_DAYS * 24 if hours is None else hours
    due = alerts_past_retention(states, now - datetime.timedelta(hours=hours)).filter(hold_reason="")
    done = []
    for alert in due.order_by("pk"):
        if dry_run:
            done.append(alert.pk)
            continue
        with transaction.atomic():
            locked = _lock_alert(alert)
            if locked.hold_reason or locked.probe_deleted_at is not None:
                continue
            Alert.objects.filter(pk=locked.pk).update(probe_ciphertext=b"", probe_deleted_at=now, candidates=[])
            audit.record(
                "alert.probe_deleted",
                locked,
                None,
                data={"probe_sha256": locked.probe_sha256, "state": locked.state, "retention_hours": hours},
            )
            done.append(locked.pk)
    return done
