"""The hot reads' caches (docs/benchmarks.md, load): the published record and the checkpoint pages are served from the
cache while nothing they show has changed, and never after something has."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from apps.deployments import services
from apps.deployments.models import Deployment, PublishedFigures
from govern.roles import Role
from tests.deployment_fixtures import ready

pytestmark = pytest.mark.django_db
PUBLISHED = "/api/deployments/published/"


@pytest.fixture
def completed(approvers, actors, planned, now):
    deployment = services.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    ready(deployment, actors.officer, now)
    services.run_schedule(now=deployment.start + datetime.timedelta(minutes=1))
    services.run_schedule(now=deployment.end + datetime.timedelta(minutes=1))
    return Deployment.objects.get(pk=deployment.pk)


def test_the_published_record_is_cached_until_a_figure_changes(api, completed, django_assert_num_queries):
    first = api().get(PUBLISHED).json()
    assert first["deployments"][0]["arrests"] == 0
    with django_assert_num_queries(1):
        assert api().get(PUBLISHED).json() == first
    services.publish_figures(completed, faces_processed=900, alerts=2, true_alerts=1, false_alerts=1, arrests=1)
    row = api().get(PUBLISHED).json()["deployments"][0]
    assert (row["faces_processed"], row["arrests"]) == (900, 1)


def test_a_change_by_any_path_is_seen(api, completed):
    api().get(PUBLISHED)
    # A raw update, as a shell or the admin would make: no signal, no service, no figure's time; the row's new
    # version (written in a savepoint, which has a transaction id of its own) changes the fingerprint.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE deployments_deployment SET location_name = 'Renamed Square' WHERE id = %s", [completed.pk]
        )
    assert api().get(PUBLISHED).json()["deployments"][0]["location"] == "Renamed Square"


def test_figures_removed_are_seen(api, completed):
    services.publish_figures(completed, faces_processed=900, alerts=2)
    assert api().get(PUBLISHED).json()["deployments"][0]["faces_processed"] == 900
    PublishedFigures.objects.filter(deployment=completed).delete()
    assert api().get(PUBLISHED).json()["deployments"][0]["faces_processed"] == 0


def test_the_checkpoint_pages_are_cached_until_another_is_signed(actors, api, make_user, django_assert_num_queries):
    call_command("audit", "checkpoint", stdout=io.StringIO())
    client = api(actors.oversight)
    first = client.get("/api/audit/checkpoints/").json()
    assert first["count"] == 1
    with django_assert_num_queries(1):  # the newest checkpoint's id; the page from the cache
        assert client.get("/api/audit/checkpoints/").json() == first
    make_user("newcomer", Role.OFFICER)  # the log grows (the account's events), so a new checkpoint is signed
    call_command("audit", "checkpoint", stdout=io.StringIO())
    assert client.get("/api/audit/checkpoints/").json()["count"] == 2
