"""The Celery app: Redis as broker, tasks discovered in each app's tasks.py, a request id carried across."""

import logging
import os

from celery import Celery, signals

from govern.request_id import begin_request, current_request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govern.settings.base")

app = Celery("govern")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)
REQUEST_ID_HEADER = "govern_request_id"


@signals.before_task_publish.connect
def _carry_request_id(headers=None, **_kwargs):
    """Give the task the request id of whatever enqueued it, so its audit events trace back."""
    if headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, str(current_request_id()))


@signals.task_prerun.connect
def _adopt_request_id(task=None, **_kwargs):
    """Run the task under the enqueuing request's id, or a new one."""
    carried = None
    if task is not None:
        request = task.request
        carried = getattr(request, REQUEST_ID_HEADER, None) or (getattr(request, "headers", None) or {}).get(
            REQUEST_ID_HEADER
        )
    begin_request(carried)


@signals.worker_ready.connect
def _announce(**_kwargs):
    logger.info("Govern worker ready on broker %s", app.conf.broker_url.split("@")[-1])
