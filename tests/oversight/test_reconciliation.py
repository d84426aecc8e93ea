"""Deletion reconciliation: a deployment short by one receipt shows red and notifies; a balanced one is green."""

import datetime

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Event
from apps.matching.models import DeletionReceipt
from apps.oversight import reconciliation, services
from apps.oversight.models import Notification
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Watchlist

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _drop_one_receipt_behind_the_services(deployment) -> None:
    receipt = DeletionReceipt.objects.filter(deployment=deployment).order_by("pk").first()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM matching_deletionreceipt WHERE id = %s", [receipt.pk])


def test_a_balanced_deployment_is_green_and_raises_nothing(actors, ledgered, client):
    (ledger,) = reconciliation.ledgers(type(ledgered).objects.filter(pk=ledgered.pk))
    assert (ledger.faces, ledger.alerts, ledger.receipts, ledger.reconciles) == (3, 1, 2, True)
    raised, _ = services.check()
    assert not [n for n in raised if n.key.startswith("reconcile:")]
    client.force_login(actors.privacy)
    page = client.get(reverse("oversight:dashboard")).content.decode()
    assert f'class="ledger-green" data-deployment="{ledgered.reference}"' in page


def test_a_deployment_short_by_one_receipt_is_red_and_notifies_privacy_officers(actors, ledgered, client):
    actors.privacy.email = "dpo@example.police.uk"
    actors.privacy.save()
    _drop_one_receipt_behind_the_services(ledgered)
    (ledger,) = reconciliation.ledgers(type(ledgered).objects.filter(pk=ledgered.pk))
    assert (
        not ledger.reconciles and "1 face(s) processed with neither an alert nor a deletion receipt" in ledger.problem
    )
    with __import__("django.test", fromlist=["TestCase"]).TestCase.captureOnCommitCallbacks(execute=True):
        raised, _ = services.check()
    (notification,) = [n for n in raised if n.key == f"reconcile:deployment:{ledgered.pk}"]
    assert "3 faces, 1 alerts, 1 receipts" in notification.message
    assert Event.objects.filter(action="oversight.notified", target_id=str(notification.pk)).exists()
    assert [m.to for m in mail.outbox] == [["dpo@example.police.uk"]] and ledgered.reference in mail.outbox[0].body
    again, _ = services.check()
    assert not [n for n in again if n.key == notification.key]  # raised once, not every quarter-hour
    client.force_login(actors.privacy)
    page = client.get(reverse("oversight:dashboard")).content.decode()
    assert f'class="ledger-red" data-deployment="{ledgered.reference}"' in page
    assert f'data-key="reconcile:deployment:{ledgered.pk}"' in page
    detail = client.get(reverse("oversight:deployment", args=[ledgered.pk])).content.decode()
    assert "Does not reconcile" in detail


def test_published_figures_that_differ_from_the_ledger_are_red(actors, ledgered, client):
    from apps.deployments.models import PublishedFigures

    PublishedFigures.objects.filter(deployment=ledgered).update(faces_processed=5362871)  # behind the services' back
    (ledger,) = reconciliation.ledgers(type(ledgered).objects.filter(pk=ledgered.pk))
    assert not ledger.reconciles
    assert ledger.problem == "The published figures say 5362871 face(s) and 1 alert(s); the ledger holds 3 and 1."
    raised, _ = services.check()
    assert [n for n in raised if n.key == f"reconcile:deployment:{ledgered.pk}"]
    client.force_login(actors.privacy)
    page = client.get(reverse("oversight:dashboard")).content.decode()
    assert f'class="ledger-red" data-deployment="{ledgered.reference}"' in page


def test_a_finding_that_no_longer_holds_is_resolved(ledgered):
    Notification.objects.create(key="reconcile:deployment:999999", title="old", message="old", raised_at=timezone.now())
    _, resolved = services.check()
    assert [n.key for n in resolved] == ["reconcile:deployment:999999"]
    assert Event.objects.filter(action="oversight.resolved").count() == 1


def test_an_overdue_purge_and_surviving_templates_show_red(ledgered):
    watchlist = Watchlist.objects.get(pk=ledgered.watchlist_id)
    Watchlist.objects.filter(pk=watchlist.pk).update(
        state=WatchlistState.EXPIRED, purge_due_at=timezone.now() - datetime.timedelta(hours=1)
    )
    (status,) = [s for s in reconciliation.purge_statuses() if s.watchlist.pk == watchlist.pk]
    assert not status.ok and status.templates_left == 1
    assert any("Purge overdue" in p for p in status.problems)
    keys = {finding.key for finding in services.findings()}
    assert f"purge:watchlist:{watchlist.pk}" in keys


def test_a_purged_list_shows_each_step_and_a_missing_vacuum_turns_red(ledgered):
    from apps.watchlists.services import watchlists

    watchlist = Watchlist.objects.get(pk=ledgered.watchlist_id)
    Watchlist.objects.filter(pk=watchlist.pk).update(state=WatchlistState.EXPIRED)
    watchlists.purge(watchlist)
    (status,) = [s for s in reconciliation.purge_statuses() if s.watchlist.pk == watchlist.pk]
    assert (status.templates_left, status.absence_confirmed, status.receipt, status.manifest) == (0, True, True, True)
    assert status.ok and not status.vacuumed  # the vacuum runs on a worker after commit: not yet
    later = timezone.now() + datetime.timedelta(hours=2)
    (status,) = [s for s in reconciliation.purge_statuses(later) if s.watchlist.pk == watchlist.pk]
    assert not status.ok and "not vacuumed" in status.problems[0]
    from apps.audit import services as audit  # what deletion_evidence.vacuum logs after its VACUUM (none in a test's
    from apps.matching.services.deletion_evidence import evidence_of  # transaction: PostgreSQL refuses it there)

    through = evidence_of("watchlist_template").order_by("-seq").first().seq
    data = {"kind": "watchlist_template", "tables": ["matching_watchlisttemplate"], "evidence_through": through}
    audit.record("biometric.vacuumed", ("matching.biometric", "watchlist_template"), None, data=data)
    (status,) = [s for s in reconciliation.purge_statuses(later) if s.watchlist.pk == watchlist.pk]
    assert status.ok and status.vacuumed
