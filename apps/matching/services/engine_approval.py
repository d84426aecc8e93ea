"""The face engine in use, and its approval for live deployments by two people (the go-live gate reads it)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.audit import services as audit
from apps.deployments import services as deployments
from govern import policy

from ..engine import get_engine
from ..models import EngineApproval


def engine_identity() -> tuple[str, str, bool]:
    """The process engine's name, weights hash and whether it is calibrated."""
    engine = get_engine()
    return engine.name, engine.weights_sha256, engine.calibrated


def _approvals():
    """The approvals of the engine in use (at most one)."""
    name, weights, _ = engine_identity()
    return EngineApproval.objects.filter(name=name, weights_sha256=weights)


def engine_refusal(approved: bool | None = None) -> str | None:
    """Why the engine in use may not run a live deployment, or None. `approved`: whether it is approved, when the
    caller already read that (a frame's admission reads it with the deployment, in one query)."""
    name, weights, calibrated = engine_identity()
    if not calibrated and not settings.FACE_ALLOW_UNCALIBRATED:
        return f"The face engine {name} is uncalibrated (no real weights): it recognises nobody."
    if not (_approvals().exists() if approved is None else approved):
        return f"The face engine {name} (weights {weights[:12]}…) is not approved for live use."
    return None


@transaction.atomic
def approve_engine(actor, *, reason: str, countersigned_by) -> EngineApproval:
    """The engine in use (its name and weights hash) approved for live deployments by two people.

    An authorising officer of full rank approves and a privacy officer countersigns: the oversight app's
    governed changes call this when the countersignature lands.
    """
    policy.require(actor, "matching.approve_engine")
    if countersigned_by is None or countersigned_by.pk == actor.pk:
        raise PermissionDenied("An engine approval needs a countersignature by another person.")
    policy.require(countersigned_by, "matching.countersign_engine")
    if len(reason.strip()) < 10:
        raise ValidationError({"reason": "Say what the approval rests on (e.g. the test report)."})
    name, weights, calibrated = engine_identity()
    approval, created = EngineApproval.objects.get_or_create(
        name=name, weights_sha256=weights, defaults={"calibrated": calibrated, "approved_by": actor, "reason": reason}
    )
    if created:
        audit.record(
            "engine.approve",
            approval,
            actor,
            data={
                "engine": name,
                "weights_sha256": weights,
                "calibrated": calibrated,
                "countersigned_by": countersigned_by.get_username(),
            },
            reason=reason,
        )
    return approval


def engine_condition(deployment, now) -> deployments.Condition:
    """The go-live gate's engine condition."""
    refusal = engine_refusal()
    name, _, calibrated = engine_identity()
    good = f"The face engine {name} is approved." + ("" if calibrated else " (UNCALIBRATED: allowed by setting)")
    return deployments.Condition("engine", refusal is None, good if refusal is None else refusal)
