"""A Celery task delivered twice (acks_late: a worker died before acknowledging; or the outbox sent a message again
because its sender died before marking it sent) does its work once (issue 8, part 4).

The second delivery finds the work done: no second template or enrolment event, no probe searched twice, no second
deletion.
"""

import pytest

from apps.audit.models import Event
from apps.matching import tasks
from apps.matching.models import CustodyTemplate, Probe, WatchlistTemplate
from apps.matching.services import retrospective
from apps.oversight import tasks as oversight_tasks
from apps.watchlists.models import CustodyImage

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_work_tasks_are_acknowledged_late_so_a_lost_worker_means_a_redelivery(settings):
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    for task in (tasks.embed_watchlist, tasks.embed_custody_image, tasks.run_search, oversight_tasks.retention_sweep):
        assert task.acks_late, task.name


def test_a_watchlist_enrolled_twice_has_one_template_per_entry(live):
    watchlist = live.watchlist
    before = WatchlistTemplate.objects.filter(watchlist=watchlist).count()
    enrolments = Event.objects.filter(action="templates.enrolled").count()
    assert tasks.embed_watchlist(watchlist.pk, watchlist.approved_hash) == before
    assert tasks.embed_watchlist(watchlist.pk, watchlist.approved_hash) == before
    assert WatchlistTemplate.objects.filter(watchlist=watchlist).count() == before == watchlist.entries.count()
    assert Event.objects.filter(action="templates.enrolled").count() == enrolments  # nothing embedded again


def test_a_custody_image_enrolled_twice_has_one_template(live):
    image = CustodyImage.objects.first()
    assert tasks.embed_custody_image(image.pk) and tasks.embed_custody_image(image.pk)
    assert CustodyTemplate.objects.filter(image=image).count() == 1
    assert Event.objects.filter(action="custody_template.enrolled", target_id=str(image.pk)).count() == 1


def test_a_search_run_twice_searches_each_still_once(actors, live, astronaut):
    request = retrospective.submit(
        actors.officer, [astronaut, astronaut], incident_reference="CRIME/9/26", crime_type="Theft"
    )
    tasks.run_search(request.pk)
    events = Event.objects.filter(action__in=["search.probe_searched", "search.probe_refused"]).count()
    again = tasks.run_search(request.pk)  # the redelivery
    assert Event.objects.filter(action__in=["search.probe_searched", "search.probe_refused"]).count() == events == 2
    request.refresh_from_db()
    assert request.processed == request.total == 2 and again == 2
    assert Probe.objects.filter(request=request, state="pending").count() == 0
