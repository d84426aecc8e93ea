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


@transaction.atomic
def withdraw_engine(actor, *, reason: str, name: str = "", weights: str = "") -> list:
    """Withdraw an engine's approval for live use (the engine in use unless named), with the reason: frames are
    refused from this commit (admission reads the approval with every frame), and, when it is the engine in use, every
    deployment that runs on it is stopped through the emergency stop, the withdrawal as its reason. Returns those."""
    policy.require(actor, "matching.withdraw_engine")
    if len(reason.strip()) < 10:
        raise ValidationError({"reason": "Say why the approval is withdrawn."})
    in_use, in_use_weights, _ = engine_identity()
    name, weights = name or in_use, weights or in_use_weights
    approval = EngineApproval.objects.select_for_update().filter(name=name, weights_sha256=weights).first()
    data = {"engine": name, "weights_sha256": weights, "was_approved": approval is not None}
    audit.record("engine.withdraw", approval or ("matching.engineapproval", ""), actor, data=data, reason=reason)
    if approval is not None:
        approval.delete()
    if (name, weights) != (in_use, in_use_weights):
        return []  # no deployment of this process runs on it
    cause = {"withdrawn": f"the approval of the face engine {name}"}
    why = f"The approval of the face engine {name} was withdrawn: {reason.strip()}"
    return deployments.emergency_stop(actor, why, cause=cause)


def engine_condition(deployment, now) -> deployments.Condition:
    """The go-live gate's engine condition."""
    refusal = engine_refusal()
    name, _, calibrated = engine_identity()
    good = f"The face engine {name} is approved." + ("" if calibrated else " (UNCALIBRATED: allowed by setting)")
    return deployments.Condition("engine", refusal is None, good if refusal is None else refusal)
