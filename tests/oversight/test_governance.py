"""The threshold and the engine change only through a countersigned approval, never below the floor."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import Event
from apps.deployments import services as deployments
from apps.matching.models import EngineApproval
from apps.matching.services import engine_approval
from apps.oversight import services
from apps.oversight.choices import ChangeKind, ChangeState
from govern.errors import Conflict

pytestmark = [pytest.mark.django_db]
WHY = "Laboratory retest of the engine at 0.64 shows lower FPIR with no demographic imbalance."
EQUALITY = "Report section 4: FPIR by sex and by ethnicity within the confidence intervals at 0.64."


def _propose(actor, make_evidence, threshold="0.640", **changes):
    fields = {"reason": WHY, "equality_evidence": EQUALITY, "evidence": make_evidence(), "threshold": threshold}
    fields.update(changes)
    return services.propose(actor, ChangeKind.THRESHOLD, **fields)


def test_a_threshold_below_the_floor_or_without_evidence_is_refused(approvers, evidence, settings):
    settings.MATCH_THRESHOLD_FLOOR = Decimal("0.600")
    with pytest.raises(ValidationError, match=r"below the floor 0\.600"):
        _propose(approvers.superintendent, evidence, threshold="0.550")
    with pytest.raises(ValidationError, match="Attach the equality evidence"):
        _propose(approvers.superintendent, evidence, evidence=None)
    with pytest.raises(ValidationError, match="empty"):
        _propose(approvers.superintendent, evidence, evidence=evidence(b""))
    with pytest.raises(ValidationError, match="not one"):
        _propose(approvers.superintendent, evidence, evidence=evidence(b"MZ\x90", "r.pdf", "application/pdf"))
    with pytest.raises(ValidationError, match="equality evidence"):
        _propose(approvers.superintendent, evidence, equality_evidence="fine")
    assert not Event.objects.filter(action="governance.proposed").exists()


def test_only_a_full_rank_authorising_officer_proposes(actors, approvers, evidence):
    for someone in (actors.privacy, actors.officer, actors.compiler):
        with pytest.raises(PermissionDenied):
            _propose(someone, evidence)
    with pytest.raises(PermissionDenied, match="Superintendent or above"):
        _propose(approvers.inspector, evidence)


def test_a_threshold_is_not_in_force_without_a_countersignature(actors, approvers, evidence, live):
    assert services.current_threshold() == (Decimal("0.600"), None)
    change = _propose(approvers.superintendent, evidence)
    assert change.state == ChangeState.PROPOSED and services.current_threshold()[0] == Decimal("0.600")
    with pytest.raises(Conflict, match="already awaiting"):
        _propose(approvers.superintendent2, evidence, threshold="0.650")
    # A deployment may not simply run at the proposed value: the gate names the governed threshold.
    live.threshold = Decimal("0.640")
    live.save(update_fields=["threshold"])
    condition = services.threshold_condition(live, None)
    assert not condition.ok and "not the governed threshold 0.600" in condition.detail
    assert "threshold" in {c.name for c in deployments.gate(live) if not c.ok}
    for someone in (approvers.superintendent, approvers.superintendent2, actors.officer, actors.oversight):
        with pytest.raises(PermissionDenied):
            services.countersign(someone, change)
    in_force = services.countersign(actors.privacy, change, note="Report read; evidence adequate.")
    assert in_force.state == ChangeState.IN_FORCE and services.current_threshold() == (Decimal("0.640"), in_force)
    assert services.threshold_condition(live, None).ok
    assert Event.objects.get(action="governance.countersigned").data["threshold"] == "0.640"
    with pytest.raises(Conflict):
        services.countersign(actors.privacy, change)
    second = _propose(approvers.superintendent, evidence, threshold="0.700")
    services.countersign(actors.privacy, second)
    in_force.refresh_from_db()
    assert in_force.state == ChangeState.SUPERSEDED and services.current_threshold()[0] == Decimal("0.700")


def test_a_privacy_officer_who_proposed_cannot_countersign(make_user, approvers, evidence):
    from govern.roles import Rank, Role

    both = make_user("both", Role.AUTHORISING_OFFICER, Role.PRIVACY_OFFICER, rank=Rank.SUPERINTENDENT)
    change = _propose(both, evidence)
    with pytest.raises(PermissionDenied, match="you may not countersign it"):
        services.countersign(both, change)


def test_a_rejected_change_leaves_the_threshold_alone(actors, approvers, evidence):
    change = _propose(approvers.superintendent, evidence)
    with pytest.raises(ValidationError):
        services.reject(actors.privacy, change, note="no")
    services.reject(actors.privacy, change, note="The report does not cover this engine version.")
    change.refresh_from_db()
    assert change.state == ChangeState.REJECTED and services.current_threshold()[0] == Decimal("0.600")


def test_the_engine_is_approved_only_with_a_countersignature(actors, approvers, evidence):
    with pytest.raises(PermissionDenied, match="countersignature"):
        engine_approval.approve_engine(approvers.superintendent, reason="Approving alone", countersigned_by=None)
    change = services.propose(
        approvers.superintendent,
        ChangeKind.ENGINE,
        reason="Vendor test report for this build of the engine.",
        equality_evidence=EQUALITY,
        evidence=evidence(),
    )
    assert change.engine_name == engine_approval.engine_identity()[0] and not EngineApproval.objects.exists()
    services.countersign(actors.privacy, change)
    approval = EngineApproval.objects.get()
    assert approval.approved_by == approvers.superintendent
    assert Event.objects.get(action="engine.approve").data["countersigned_by"] == "privacy"


def test_a_plan_below_the_floor_is_refused(actors, live):
    from tests.deployment_fixtures import plan_deployment

    with pytest.raises(ValidationError, match="below the floor"):
        plan_deployment(actors.officer, live.watchlist, start=live.start, end=live.end, threshold=Decimal("0.500"))
