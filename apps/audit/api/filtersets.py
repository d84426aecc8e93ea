"""The audit log API's filters: the log's own, and `deployment`, which gathers a deployment's events."""

from collections.abc import Callable

from django.db.models import Q

from govern.api.filters import IntegerFilter

from ..filtersets import EventFilterSet

# Apps above audit name their records that belong to a deployment (deployment id -> a Q on Event), so the log finds a
# deployment's alerts and frames without importing them.
DEPLOYMENT_RECORDS: list[Callable[[int], Q]] = []


def add_deployment_records(records: Callable[[int], Q]) -> Callable[[int], Q]:
    """Register the events of one app's records that belong to a deployment."""
    if records not in DEPLOYMENT_RECORDS:
        DEPLOYMENT_RECORDS.append(records)
    return records


class EventApiFilterSet(EventFilterSet):
    """The log's filters, and a deployment's events: its own, and those of its alerts and frames."""

    deployment = IntegerFilter(method="for_deployment", min_value=1, max_value=2**63 - 1, label="Deployment id")

    class Meta(EventFilterSet.Meta):
        fields = [*EventFilterSet.Meta.fields, "deployment"]

    def for_deployment(self, queryset, name, value):
        """Events whose record is the deployment, or one of the records the apps say belong to it."""
        deployment = int(value)
        wanted = Q(target_type="deployments.deployment", target_id=str(deployment))
        for records in DEPLOYMENT_RECORDS:
            wanted |= records(deployment)
        return queryset.filter(wanted)
