"""Authorisation, the go-live gate and the schedule: every rule refuses with its reason; the schedule is idempotent."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import Event
from apps.deployments import services
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Watchlist
from apps.watchlists.services import watchlists
from tests.deployment_fixtures import plan_deployment, ready
from tests.watchlist_fixtures import list_person, submit_and_approve

pytestmark = pytest.mark.django_db


def test_authorising_is_refused_for_the_wrong_role_and_a_low_rank(actors, approvers, planned, now):
    with pytest.raises(PermissionDenied, match="role"):
        services.authorise(actors.officer, planned, revision=planned.revision, now=now)
    with pytest.raises(PermissionDenied, match="Superintendent or above"):
        services.authorise(approvers.chief_inspector, planned, revision=planned.revision, now=now)
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.PLANNED
    assert not Event.objects.filter(action="deployment.authorise").exists()


def test_the_planner_cannot_authorise_their_own_deployment(make_user, approved_list, documents, vans, now):
    from govern.roles import Rank, Role

    both = make_user("both", Role.OFFICER, Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT)
    deployment = plan_deployment(both, approved_list, assets=[vans[0]], documents=documents, now=now)
    with pytest.raises(PermissionDenied, match="You planned this deployment"):
        services.authorise(both, deployment, revision=deployment.revision, now=now)


def test_authorising_is_refused_with_an_expired_dpia(approvers, planned, documents, now):
    from apps.deployments.models import PolicyDocument

    PolicyDocument.objects.filter(kind="dpia").update(review_by=now.date() - datetime.timedelta(days=1))
    with pytest.raises(ValidationError, match=r"Data protection impact assessment .* was due for review"):
        services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)


def test_authorising_is_refused_with_a_missing_or_unapproved_document(approvers, planned, documents, now):
    planned.documents.remove(documents[1])
    with pytest.raises(ValidationError, match="No Equality impact assessment is attached"):
        services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    unapproved = services.record_document(
        approvers.superintendent,
        kind="eia",
        version="2026.2",
        title="EIA",
        review_by=now.date() + datetime.timedelta(days=30),
    )
    planned.documents.add(unapproved)
    with pytest.raises(ValidationError, match="not approved"):
        services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)


def test_authorising_is_refused_when_the_watchlist_is_not_approved(actors, approvers, draft, documents, vans, now):
    deployment = plan_deployment(actors.officer, draft, assets=[vans[0]], documents=documents, now=now)
    with pytest.raises(ValidationError, match="not approved and in force"):
        services.authorise(approvers.superintendent, deployment, revision=deployment.revision, now=now)


def test_a_watchlist_reapproved_for_a_different_hash_fails_the_gate(actors, approvers, planned, gallery, now):
    deployment = services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    ready(deployment, actors.officer, now)
    watchlist = Watchlist.objects.get(pk=deployment.watchlist_id)
    list_person(
        actors.compiler,
        watchlist,
        *gallery.other,
        justification="Wanted on a warrant issued by Southwark Crown Court on 3 Nov 2026.",
        now=now,
    )
    submit_and_approve(actors.compiler, approvers.superintendent2, watchlist, now=now)
    conditions = {c.name: c for c in services.gate(Deployment.objects.get(pk=deployment.pk), deployment.start)}
    assert not conditions["watchlist_hash"].ok
    assert "not the one that was authorised" in conditions["watchlist_hash"].detail


def test_the_schedule_goes_live_only_when_every_condition_holds(actors, approvers, planned, now):
    deployment = services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    at_start = deployment.start + datetime.timedelta(minutes=1)
    actions = services.run_schedule(now=at_start)
    assert [a.action for a in actions] == ["refuse"]
    assert "public_notice" in actions[0].detail and "checklist" in actions[0].detail
    refused = Event.objects.get(action="deployment.go_live_refused")
    assert {c["name"] for c in refused.data["failing"]} == {"public_notice", "checklist"}
    services.run_schedule(now=at_start)
    assert Event.objects.filter(action="deployment.go_live_refused").count() == 1  # idempotent

    ready(deployment, actors.officer, now)
    assert services.run_schedule(now=at_start, dry_run=True)[0].action == "go_live"
    assert Deployment.objects.get(pk=deployment.pk).state == DeploymentState.AUTHORISED  # the dry run changed nothing
    services.run_schedule(now=at_start)
    live = Deployment.objects.get(pk=deployment.pk)
    assert live.state == DeploymentState.LIVE and services.is_live(live, at_start)
    events = Event.objects.count()
    assert services.run_schedule(now=at_start) == []
    assert Event.objects.count() == events

    after_end = deployment.end + datetime.timedelta(minutes=1)
    assert [a.action for a in services.run_schedule(now=after_end)] == ["complete"]
    completed = Deployment.objects.get(pk=deployment.pk)
    assert completed.state == DeploymentState.COMPLETED and not services.is_live(completed, after_end)
    watchlist = Watchlist.objects.get(pk=deployment.watchlist_id)
    assert watchlist.state == WatchlistState.EXPIRED
    assert watchlist.purge_due_at == deployment.end + datetime.timedelta(hours=24)
    assert services.run_schedule(now=after_end) == []
    assert [a.action for a in watchlists.sweep(now=watchlist.purge_due_at)] == ["purge"]


def test_nothing_is_live_before_the_gate_passes(approvers, planned, now):
    deployment = services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    assert not services.is_live(deployment, deployment.start + datetime.timedelta(minutes=5))


def test_a_notice_exemption_needs_a_reason_from_an_authorising_officer(actors, approvers, planned, now):
    with pytest.raises(PermissionDenied):
        services.exempt_notice(actors.officer, planned, reason="Critical threat: credible intelligence of an attack.")
    with pytest.raises(ValidationError):
        services.exempt_notice(approvers.superintendent, planned, reason="urgent")
    services.exempt_notice(
        approvers.superintendent, planned, reason="Critical threat: credible intelligence of an attack."
    )
    conditions = {c.name: c for c in services.gate(Deployment.objects.get(pk=planned.pk), planned.start)}
    assert conditions["public_notice"].ok


def test_a_deployment_never_authorised_is_cancelled_at_its_end(planned):
    actions = services.run_schedule(now=planned.end)
    assert [a.action for a in actions] == ["cancel"]
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.CANCELLED


def test_a_double_booked_van_is_refused(actors, approved_list, documents, vans, planned, now):
    with pytest.raises(ValidationError, match="LFR-VAN-1 is booked for"):
        plan_deployment(
            actors.officer,
            approved_list,
            start=planned.start,
            end=planned.end,
            assets=[vans[0]],
            documents=documents,
            now=now,
            location_name="Brixton",
            latitude="51.4613",
            longitude="-0.1156",
        )
    assert Deployment.objects.count() == 1


def test_an_overlapping_deployment_at_the_same_place_is_refused(actors, approved_list, documents, vans, planned, now):
    with pytest.raises(ValidationError, match="same place"):
        plan_deployment(
            actors.officer,
            approved_list,
            start=planned.start + datetime.timedelta(hours=1),
            end=planned.end,
            assets=[vans[1]],
            documents=documents,
            now=now,
            location_name="Oxford Circus station, north exit",
            latitude="51.515400",
        )
    later = plan_deployment(
        actors.officer,
        approved_list,
        start=planned.end,
        end=planned.end + datetime.timedelta(hours=2),
        assets=[vans[0]],
        documents=documents,
        now=now,
    )
    assert later.pk


def test_changing_an_authorised_plan_withdraws_the_authorisation(actors, approvers, planned, now):
    deployment = services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    changed = services.update_plan(
        actors.officer, deployment, reason="Moved to the south exit", address="Regent Street, London W1"
    )
    assert changed.state == DeploymentState.PLANNED and changed.authorised_watchlist_hash == ""
    assert Event.objects.get(action="deployment.update").data["authorisation_withdrawn"] is True


def test_suspend_and_resume(actors, approvers, planned, now):
    deployment = services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    ready(deployment, actors.officer, now)
    at = deployment.start + datetime.timedelta(minutes=1)
    services.run_schedule(now=at)
    with pytest.raises(PermissionDenied):
        services.suspend(actors.officer, deployment, reason="Crowd too dense")
    suspended = services.suspend(approvers.superintendent, deployment, reason="Crowd too dense to engage safely")
    assert not services.is_live(suspended, at)
    resumed = services.resume(approvers.superintendent, suspended, now=at)
    assert services.is_live(resumed, at)


def test_outcomes_are_validated(actors, planned):
    """The system's figures (its counts) are checked for consistency; officers type none of them (item 12)."""
    with pytest.raises(ValidationError):
        services.publish_figures(planned, alerts=2, true_alerts=2, false_alerts=1)
    outcome = services.publish_figures(
        planned,
        faces_processed=15500,
        alerts=3,
        true_alerts=2,
        false_alerts=1,
        engagements=3,
        arrests=2,
    )
    assert outcome.arrests == 2


def test_the_schedule_command_has_a_dry_run(approvers, planned, now):
    from io import StringIO

    from django.core.management import call_command

    Deployment.objects.filter(pk=planned.pk).update(
        start=now - datetime.timedelta(hours=2), end=now - datetime.timedelta(hours=1)
    )
    out = StringIO()
    call_command("deployments_schedule", "--dry-run", stdout=out)
    assert "would cancel" in out.getvalue()
    assert Deployment.objects.get(pk=planned.pk).state == DeploymentState.PLANNED


def test_authorising_is_refused_when_the_list_was_approved_for_a_different_hash(approvers, planned, now):
    Watchlist.objects.filter(pk=planned.watchlist_id).update(approved_hash="0" * 64, revision=99)
    with pytest.raises(ValidationError, match="approved for a different content hash"):
        services.authorise(
            approvers.superintendent, Deployment.objects.get(pk=planned.pk), revision=planned.revision, now=now
        )
