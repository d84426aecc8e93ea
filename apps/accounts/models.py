"""Users with rank, warrant number, force and unit; roles are groups."""

from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .choices import SENIORITY, Rank, Role


class RestrictedQuerySet(models.QuerySet):
    """A queryset that can be narrowed to what a user may do: `Model.objects.restrict(user, "view")`."""

    def restrict(self, user, verb: str = "view"):
        """Only the rows `user` may `verb`, by the permission policy; none when the policy says no."""
        from . import policy

        action = f"{self.model._meta.app_label}.{verb}_{self.model._meta.model_name}"
        return self.filter(policy.scope(user, action))


class RestrictedManager(models.Manager.from_queryset(RestrictedQuerySet)):
    """The default manager of every model whose rows are restricted by the policy."""


class UserManager(DjangoUserManager.from_queryset(RestrictedQuerySet)):
    """Django's user manager with `restrict`."""


class User(AbstractUser):
    """A person who signs in to Govern: an officer, a member of police staff, an overseer or a partner."""

    rank = models.CharField(max_length=32, choices=Rank.choices, blank=True, help_text="Blank for police staff.")
    warrant_number = models.CharField(max_length=32, blank=True)
    force = models.CharField(max_length=100, blank=True)
    unit = models.CharField(max_length=100, blank=True)

    objects = UserManager()
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(
                fields=["force", "warrant_number"],
                condition=~Q(warrant_number=""),
                name="accounts_user_unique_warrant_per_force",
            )
        ]

    @cached_property
    def roles(self) -> frozenset[Role]:
        """The roles this user holds (their groups that name a role)."""
        names = set(self.groups.values_list("name", flat=True)) if self.pk else set()
        return frozenset(Role(name) for name in names if name in Role.values)

    def has_role(self, *roles: Role) -> bool:
        """Whether the user holds any of these roles."""
        return bool(self.roles & set(roles))

    def outranks_or_equals(self, rank: str) -> bool:
        """Whether the user's rank is at least `rank`; police staff hold no rank."""
        if not self.rank:
            return False
        return SENIORITY[Rank(self.rank)] >= SENIORITY[Rank(rank)]

    def refresh_roles(self) -> None:
        """Forget the cached roles after the groups changed."""
        self.__dict__.pop("roles", None)
