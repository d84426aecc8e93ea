"""Reads of alerts, their images and a search's candidates (HackSoft's selectors): each checks the policy, reads, and
logs one consultation (DPA 2018 s.62) with the same data whichever surface asked; the pages and the API call the same
one.

Services change state; selectors read. A list selector takes `take`, what the surface shows of the rows (its order,
an API page), so the ids logged are the ids shown.
"""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from apps.audit import access
from apps.audit import services as audit
from govern import encryption, policy
from govern.errors import Conflict

from .choices import AlertState
from .models import FALSE_ALERTS, Alert, Capture, Probe, SearchRequest


@transaction.atomic
def alerts(
    actor,
    reason: str,
    *,
    take: Callable[[QuerySet], list],
    deployment: int | None = None,
    state: str = "",
    export: str = "",
):
    """The alerts the actor sees (of one deployment, in one state, when asked): a list of Alert; logged with what was
    asked and the ids shown, and an export (`export="csv"`) as such, with every id exported."""
    policy.require(actor, "matching.view_alert")
    if state and state not in AlertState.values:
        raise ValidationError({"state": f"Choose one of: {', '.join(AlertState.values)}."})
    found = Alert.objects.restrict(actor, "view").select_related("subject")
    if deployment is not None:
        found = found.filter(deployment_id=deployment)
    if state:
        found = found.filter(state=state)
    shown = list(take(found))
    audit.record_access(
        ("matching.alert", "list"),
        actor,
        reason,
        data={
            "deployment": deployment,
            "state": state or None,
            "results": [alert.pk for alert in shown],
            **({"export": export} if export else {}),
        },
    )
    return shown


@transaction.atomic
def misidentifications(actor, reason: str, *, take: Callable[[QuerySet], list]) -> list[Alert]:
    """Alerts found false, at judgement or only after the person was stopped, with their stop records: the list the
    privacy officers review; logged with the ids shown."""
    policy.require(actor, "matching.view_alert")
    found = Alert.objects.restrict(actor, "view").filter(FALSE_ALERTS).select_related("deployment")
    shown = list(take(found))
    results = [alert.pk for alert in shown]
    audit.record_access(("matching.alert", "misidentifications"), actor, reason, data={"results": results})
    return shown


@transaction.atomic
def alert(actor, alert: Alert, reason: str) -> Alert:
    """One alert: who it matched, the score, the judgement; logged with its deployment."""
    return access.consulted(actor, "matching.view_alert", alert, reason, {"deployment": alert.deployment_id})


@transaction.atomic
def probe_image(actor, alert: Alert, reason: str) -> bytes:
    """The face the camera saw; logged before it is decrypted."""
    policy.require(actor, "matching.view_alert", alert)
    if alert.probe_deleted_at is not None:
        raise Conflict("This alert's probe was deleted under the retention policy.")
    audit.record_access(alert, actor, reason, data={"deployment": alert.deployment_id, "image": "probe"})
    return encryption.decrypt(bytes(alert.probe_ciphertext), associated_data=alert.associated_data())


@transaction.atomic
def watchlist_image(actor, alert: Alert, reason: str) -> bytes:
    """The watchlist image the alert matched (its custody image), for whoever sees the alert; logged on the image."""
    policy.require(actor, "matching.view_alert", alert)
    if alert.entry is None:
        raise Conflict("The watchlist entry no longer exists.")
    image = alert.entry.image
    audit.record_access(image, actor, reason, data={"alert": alert.pk})
    return encryption.decrypt(bytes(image.ciphertext), associated_data=image.associated_data())


@transaction.atomic
def candidates(actor, search: SearchRequest, reason: str) -> list[Probe]:
    """A search's stills with their candidate lists, for trained police operators; logged with the stills' ids."""
    policy.require(actor, "matching.view_probe")
    policy.require(actor, "matching.view_searchrequest", search)
    probes = list(search.probes.order_by("position"))
    audit.record_access(search, actor, reason, data={"probes": [probe.pk for probe in probes]})
    return probes


def deployment_records(deployment_id: int) -> Q:
    """The audit events of a deployment's alerts and frames (the log's `deployment` filter): a Q on Event."""
    alerts = Alert.objects.filter(deployment_id=deployment_id).annotate(key=Cast("pk", CharField())).values("key")
    captures = Capture.objects.filter(deployment_id=deployment_id).annotate(key=Cast("pk", CharField())).values("key")
    return Q(target_type=Alert._meta.label_lower, target_id__in=alerts) | Q(
        target_type=Capture._meta.label_lower, target_id__in=captures
    )
