"""Alerts after they are raised: a human judges every one before anything is done, the deployment's figures are
recounted from the record, and probes are kept or deleted under the retention policy."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.audit import data_keys
from apps.audit import services as audit
from apps.audit.choices import DataKeyOwner
from apps.deployments import services as deployments
from apps.deployments.models import Deployment, PublishedFigures
from govern import policy
from govern.errors import Conflict

from .. import figures
from ..choices import AgeBand, AlertState, Biometric, EthnicGroup, IdentityCheck, Outcome, PerceivedSex
from ..models import FALSE_ALERTS, TRUE_ALERTS, Alert, Capture
from .deletion_evidence import record_deletion_evidence


def reconciliation(deployment: Deployment) -> dict:
    """Faces processed, alerts and receipts for a deployment, and whether its ledger balances per track (faces in
    alerted and receipted tracks; tracks = alerts + sightings + receipts: figures.Tally)."""
    tally = figures.by_deployment(Deployment.objects.filter(pk=deployment.pk))[0]
    return {"faces": tally.faces, "alerts": tally.alerts, "receipts": tally.receipts, "reconciles": tally.reconciles}


# --- Alerts: a human judges every one before anything is done ------------------------------------------------------


def _lock_alert(alert: Alert) -> Alert:
    return Alert.objects.select_for_update(of=("self",)).select_related("deployment").get(pk=alert.pk)


PERCEIVED = {
    "perceived_sex": PerceivedSex,
    "perceived_age": AgeBand,
    "perceived_ethnicity": EthnicGroup,
}
MAX_STOP_MINUTES = 24 * 60


def refresh_figures(deployment: Deployment) -> None:
    """The deployment's published figures, recounted from its captures and alerts (the system records them) after an
    officer's judgement. The figures' row is locked before counting, so a frame committing meanwhile is counted. An
    alert found false only after the person was stopped counts as false, and as an engagement."""
    list(PublishedFigures.objects.select_for_update().filter(deployment=deployment))
    alerts = Alert.objects.filter(deployment=deployment)
    deployments.publish_figures(
        deployment,
        faces_processed=Capture.objects.filter(deployment=deployment).aggregate(faces=Sum("faces"))["faces"] or 0,
        alerts=alerts.count(),
        true_alerts=alerts.filter(TRUE_ALERTS).count(),
        false_alerts=alerts.filter(FALSE_ALERTS).count(),
        engagements=alerts.filter(engaged_at__isnull=False).count(),
        arrests=alerts.filter(outcome=Outcome.ARREST).count(),
        other_outcomes=alerts.filter(outcome=Outcome.OTHER_ACTION).count(),
    )


def _perceive(alert: Alert, person: dict) -> dict:
    """Set what the officer perceived of the person (a field left blank keeps what was recorded); the values set."""
    unknown = set(person) - set(PERCEIVED)
    if unknown:
        raise ValidationError({name: "Not something an officer records of the person." for name in sorted(unknown)})
    given = {}
    for name, value in person.items():
        if not value:
            continue
        choices = PERCEIVED[name]
        if value not in choices.values:
            raise ValidationError({name: f"Choose one of: {', '.join(choices.values)}."})
        setattr(alert, name, value)
        given[name] = value
    return given


def _perceived_commitment(perceived: dict) -> dict:
    """What the officer perceived of a person, as the log keeps it: a commitment (HMAC), never the values. Bundles go
    to the oversight role, who must not read one person's ethnicity, sex and age band; the row keeps them for the
    privacy officers and the equality figures, and the log proves what was recorded."""
    return {"perceived": audit.commitment(perceived)} if perceived else {}


def _text(value: str, name: str, limit: int) -> str:
    """One line of printable text, at most `limit` characters (blank allowed)."""
    value = (value or "").strip()
    if len(value) > limit or (value and not value.isprintable()):
        raise ValidationError({name: f"At most {limit} characters on one line."})
    return value


@transaction.atomic
def adjudicate(actor, alert: Alert, *, match: bool, reason: str, **person) -> Alert:
    """An officer judges the alert: a true match, or a false alert, with the reason; and may record the perceived
    sex, age band and ethnic group of the person the camera saw (`perceived_sex`, `perceived_age`,
    `perceived_ethnicity`)."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.adjudicate_alert", locked)
    if not reason or len(reason.strip()) < 5:
        raise ValidationError({"reason": "Say what the judgement rests on."})
    if not reason.strip().isprintable():
        raise ValidationError({"reason": "Write the reason as one line of text: no line breaks or control characters."})
    if locked.state != AlertState.PENDING:
        raise Conflict(f"Alert {locked.pk} was already judged ({locked.get_state_display().lower()}).")
    perceived = _perceive(locked, person)
    locked.state = AlertState.CONFIRMED if match else AlertState.FALSE
    locked.adjudicated_by, locked.adjudicated_at, locked.adjudication_reason = actor, timezone.now(), reason.strip()
    locked.save()
    data = {"match": match, "score": locked.score, **_perceived_commitment(perceived)}
    audit.record("alert.adjudicated", locked, actor, data=data, reason=reason)
    refresh_figures(locked.deployment)
    return locked


@transaction.atomic
def engage(actor, alert: Alert, **person) -> Alert:
    """Officers speak to the person: only after the alert was judged a true match. What they perceive of the person
    may be recorded now (or with the outcome)."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.adjudicate_alert", locked)
    if locked.state != AlertState.CONFIRMED:
        raise Conflict("An engagement is recorded only after the alert was judged a true match.")
    perceived = _perceive(locked, person)
    locked.state, locked.engaged_by, locked.engaged_at = AlertState.ENGAGED, actor, timezone.now()
    locked.save()
    audit.record("alert.engaged", locked, actor, data=_perceived_commitment(perceived) or None)
    refresh_figures(locked.deployment)
    return locked


@transaction.atomic
def record_alert_outcome(
    actor,
    alert: Alert,
    *,
    outcome: str,
    identity_check: str,
    stop_minutes: int,
    note: str = "",
    complaint_reference: str = "",
    **person,
) -> Alert:
    """The stop record: how identity was checked, how long the stop lasted, what followed (the person confirmed, an
    arrest, other action, or not the person after all) and a complaint reference if one was made."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.adjudicate_alert", locked)
    recordable = [value for value, _label in Outcome.recordable()]
    if outcome not in recordable:
        raise ValidationError({"outcome": f"Choose one of: {', '.join(recordable)}."})
    if identity_check not in IdentityCheck.values:
        raise ValidationError({"identity_check": f"Choose one of: {', '.join(IdentityCheck.values)}."})
    if isinstance(stop_minutes, bool) or not isinstance(stop_minutes, int) or not 0 <= stop_minutes <= MAX_STOP_MINUTES:
        raise ValidationError({"stop_minutes": f"How long the stop lasted in whole minutes, 0 to {MAX_STOP_MINUTES}."})
    note, complaint = _text(note, "note", 2000), _text(complaint_reference, "complaint_reference", 100)
    if locked.state != AlertState.ENGAGED:
        raise Conflict("An outcome is recorded only after an engagement.")
    perceived = _perceive(locked, person)
    locked.state, locked.outcome, locked.outcome_note = AlertState.CLOSED, outcome, note
    locked.identity_check, locked.stop_minutes, locked.complaint_reference = identity_check, stop_minutes, complaint
    locked.save()
    data = {
        "outcome": outcome,
        "identity_check": identity_check,
        "stop_minutes": stop_minutes,
        "complaint": audit.commitment(complaint) if complaint else None,
        **_perceived_commitment(perceived),
    }
    audit.record("alert.outcome", locked, actor, data=data, reason=note)
    refresh_figures(locked.deployment)
    return locked


@transaction.atomic
def record_complaint(actor, alert: Alert, *, complaint_reference: str) -> Alert:
    """A complaint made about a stop after its outcome was recorded: its reference joins the stop record."""
    locked = _lock_alert(alert)
    policy.require(actor, "matching.adjudicate_alert", locked)
    complaint = _text(complaint_reference, "complaint_reference", 100)
    if not complaint:
        raise ValidationError({"complaint_reference": "Give the complaint's reference."})
    if locked.state != AlertState.CLOSED:
        raise Conflict("A complaint about a stop is recorded once the stop itself is (its outcome).")
    if locked.complaint_reference:
        raise Conflict(f"Alert {locked.pk} already records complaint {locked.complaint_reference}.")
    locked.complaint_reference = complaint
    locked.save(update_fields=["complaint_reference"])
    audit.record("alert.complaint", locked, actor, data={"complaint": audit.commitment(complaint)})
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


def alerts_past_retention(judged: Q, cutoff):
    """Alerts `judged` (FALSE_ALERTS or TRUE_ALERTS) at or before the cutoff whose probe is still held (held ones
    included)."""
    return Alert.objects.filter(judged, adjudicated_at__lte=cutoff, probe_deleted_at__isnull=True)


def destroy_probe_key(alert: Alert) -> str | None:
    """Crypto-shred the alert's probe, in the caller's transaction: its own data key destroyed (its file shredded on
    commit), so no copy of the probe (write-ahead log, base backup, replica) can be read. The key's id, for the
    receipt; None for a probe stored before data keys, or one already destroyed."""
    return data_keys.destroy_for(DataKeyOwner.ALERT_PROBE, alert.pk)


def retention_sweep(now=None, dry_run: bool = False, *, judged: Q = FALSE_ALERTS, hours=None) -> list[int]:
    """Delete the probes of alerts `judged` so more than `hours` ago and not on hold, each with a receipt.

    The oversight app's retention sweep calls this once per data class with the privacy officers' policy; the
    default is false alerts after ALERT_FALSE_RETENTION_DAYS. The alert row stays (its counts, judgement and
    receipt), so faces = alerts + receipts still holds.
    """
    now = now or timezone.now()
    hours = settings.ALERT_FALSE_RETENTION_DAYS * 24 if hours is None else hours
    due = alerts_past_retention(judged, now - datetime.timedelta(hours=hours)).filter(hold_reason="")
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
            destroyed_key = destroy_probe_key(locked)
            record_deletion_evidence(
                Biometric.ALERT_PROBE, [locked.pk], target=locked, data_keys_destroyed=[destroyed_key]
            )
            audit.record(
                "alert.probe_deleted",
                locked,
                None,
                data={
                    "probe_sha256": locked.probe_sha256,
                    "state": locked.state,
                    "retention_hours": hours,
                    "data_key": destroyed_key,
                },
            )
            done.append(locked.pk)
    return done


# What an alert's record says about people in words: the judgement's reason, the stop's note, a complaint's reference,
# and the candidate list; the row stays (its counts and states feed the ledger and the published figures).
_ALERT_TEXT = {"adjudication_reason": "", "outcome_note": "", "complaint_reference": "", "candidates": []}


def alert_text_past_retention(cutoff):
    """Alerts judged (or raised, if never judged) at or before the cutoff, not on hold, whose text is still held."""
    with_text = ~Q(adjudication_reason="") | ~Q(outcome_note="") | ~Q(complaint_reference="") | ~Q(candidates=[])
    return (
        Alert.objects.alias(clock=Coalesce("adjudicated_at", "created_at"))
        .filter(with_text, clock__lte=cutoff, hold_reason="")
        .order_by("pk")
    )


@transaction.atomic
def forget_alert_text(*, cutoff, after: int, limit: int, retention_hours: int) -> list[int]:
    """Blank the text of up to `limit` alerts past retention, from the alert after `after` on, in one transaction,
    with one receipt listing each alert and a commitment to the text it held; the alerts done (empty when none is
    left). Rows another transaction holds are skipped this time round."""
    chosen = list(
        alert_text_past_retention(cutoff)
        .filter(pk__gt=after)
        .select_for_update(skip_locked=True, of=("self",))
        .values("pk", *_ALERT_TEXT)[:limit]
    )
    if not chosen:
        return []
    ids = [row["pk"] for row in chosen]
    Alert.objects.filter(pk__in=ids).update(**_ALERT_TEXT)
    audit.record(
        "alert.text_deleted",
        ("matching.alert", f"{ids[0]}-{ids[-1]}"),
        None,
        data={
            "alerts": {str(row["pk"]): audit.commitment({k: row[k] for k in _ALERT_TEXT}) for row in chosen},
            "retention_hours": retention_hours,
        },
    )
    return ids
