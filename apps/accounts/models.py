"""Users with rank, warrant number, force and unit; roles are groups."""

import hashlib
import json
from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from govern.restricted import RestrictedManager, RestrictedQuerySet
from govern.roles import SECOND_FACTOR_ROLES, SENIORITY, Rank, Role

from .choices import AccountChangeKind, AccountChangeState, LockoutKey


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
        return _roles_named(names)

    def prime_roles(self, group_names) -> None:
        """Set the roles from group names the caller already read (the token lookup reads them in its own query)."""
        self.__dict__["roles"] = _roles_named(group_names)

    def has_role(self, *roles: Role) -> bool:
        """Whether the user holds any of these roles."""
        return bool(self.roles & set(roles))

    def outranks_or_equals(self, rank: str) -> bool:
        """Whether the user's rank is at least `rank`; police staff hold no rank."""
        if not self.rank:
            return False
        return SENIORITY[Rank(self.rank)] >= SENIORITY[Rank(rank)]

    @property
    def needs_second_factor(self) -> bool:
        """Whether this user signs in with a TOTP code after the password (authorising, privacy, administrator)."""
        return self.has_role(*SECOND_FACTOR_ROLES)

    def refresh_roles(self) -> None:
        """Forget the cached roles after the groups changed."""
        self.__dict__.pop("roles", None)

    def security_stamp(self) -> str:
        """The stamp of this account's roles, rank, active flag, password and authenticators, as stored now."""
        from django_otp.plugins.otp_totp.models import TOTPDevice

        groups = self.groups.filter(name__in=Role.values).values_list("name", flat=True)
        devices = TOTPDevice.objects.filter(user=self, confirmed=True).values_list("pk", flat=True)
        stored = User.objects.values_list("rank", "is_active", "password").get(pk=self.pk)
        return account_stamp(groups, *stored, devices)


def account_stamp(role_names, rank, is_active, password_hash, device_ids) -> str:
    """What an API token is bound to: the account's roles, rank, active flag, password and confirmed authenticators.

    A change to any of them changes the stamp, and a token issued under the old one no longer authenticates.
    """
    material = json.dumps(
        [sorted(name for name in role_names if name in Role.values), rank, bool(is_active), password_hash,
         sorted(device_ids)]
    )  # fmt: skip
    return hashlib.sha256(material.encode()).hexdigest()


def _roles_named(group_names) -> frozenset[Role]:
    return frozenset(Role(name) for name in group_names if name in Role.values)


class SignInFailure(models.Model):
    """One refused sign-in, counted against the username as typed and the address it came from."""

    username = models.CharField(max_length=150, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self):
        return f"{self.username} from {self.address} at {self.at:%Y-%m-%d %H:%M:%S}"


class SignInLockout(models.Model):
    """A pause on signing in for one username or one address, after too many failures in the window."""

    key = models.CharField(max_length=32, choices=LockoutKey.choices)
    value = models.CharField(max_length=220)
    failures = models.PositiveIntegerField()
    locked_at = models.DateTimeField()
    locked_until = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-locked_at"]
        indexes = [models.Index(fields=["key", "value", "locked_until"])]

    def __str__(self):
        return f"{self.get_key_display()} {self.value} until {self.locked_until:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """An API token of one user (`Authorization: Token <key>`): only its SHA-256 is kept, shown once, revocable."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="What the token is for, e.g. the script using it.")
    prefix = models.CharField(max_length=8, help_text="The token's first characters, to recognise it in a list.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    second_factor = models.BooleanField(
        default=False, help_text="Whether it was issued after a verified second factor (its assurance)."
    )
    account_stamp = models.CharField(
        max_length=64, blank=True, help_text="The account's roles, rank, password and authenticators at issue."
    )

    objects = RestrictedManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"token {self.prefix}… of {self.user}"

    @property
    def is_active(self) -> bool:
        """Whether the token still authenticates."""
        return self.revoked_at is None


class EnrolmentCode(models.Model):
    """A one-time code an administrator hands a person, out of band, to enrol their authenticator app.

    Without it, whoever learnt a password before its owner first signed in could enrol their own phone and hold the
    account's second factor for good. Only the code's SHA-256 is kept; it expires, is used once, and a new one (or
    too many wrong tries) voids it.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="enrolment_codes")
    digest = models.CharField(max_length=64)
    issued_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(used_at__isnull=True, voided_at__isnull=True),
                name="accounts_one_open_enrolment_code_per_user",
            )
        ]

    def __str__(self):
        return f"enrolment code of {self.user} issued {self.issued_at:%Y-%m-%d %H:%M}"


class AccountChange(models.Model):
    """A change one administrator asked for and a second must approve: a grant of authorising officer, privacy
    officer or administrator, or the removal of an authenticator app. Nothing changes until it is approved."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="account_changes")
    kind = models.CharField(max_length=32, choices=AccountChangeKind.choices)
    roles = models.JSONField(default=list, blank=True, help_text="For a grant: the roles the account is to hold.")
    reason = models.TextField()
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=16, choices=AccountChangeState.choices, default=AccountChangeState.PENDING)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"], condition=Q(state="pending"), name="account_change_one_pending_per_kind"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.user} ({self.get_state_display().lower()})"
