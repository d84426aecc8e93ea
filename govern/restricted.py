"""The restricted queryset: `Model.objects.restrict(user, "view")` narrows rows to what the policy lets a user do.

Part of the kernel (with govern.policy and govern.roles): it imports no app.
"""

from django.db import models

from . import policy


class RestrictedQuerySet(models.QuerySet):
    """A queryset that can be narrowed to what a user may do: `Model.objects.restrict(user, "view")`."""

    def restrict(self, user, verb: str = "view"):
        """Only the rows `user` may `verb`, by the permission policy; none when the policy says no."""
        action = f"{self.model._meta.app_label}.{verb}_{self.model._meta.model_name}"
        return self.filter(policy.scope(user, action))


class RestrictedManager(models.Manager.from_queryset(RestrictedQuerySet)):
    """The default manager of every model whose rows are restricted by the policy."""
