"""Every change to accounts: permission check, one transaction, the change and its audit event.

`actor=None` means the system itself (a management command run by the operator); otherwise the actor must
hold the permission for the action.
"""

import hashlib
import secrets

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit import services as audit

from . import policy
from .choices import Rank, Role
from .models import ApiToken, User

PROFILE_FIELDS = ("first_name", "last_name", "email", "rank", "warrant_number", "force", "unit")


def _authorise(actor, action: str, obj=None) -> None:
    if actor is not None:
        policy.require(actor, action, obj)
        if obj is not None and obj.pk == actor.pk and action == "accounts.change_user":
            raise PermissionDenied("Nobody changes their own roles, rank or account: ask another administrator.")


def ensure_role_groups() -> None:
    """One group per role; idempotent."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def _validate_profile(profile: dict) -> None:
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown account fields: {', '.join(sorted(unknown))}.")
    rank = profile.get("rank", "")
    if rank and rank not in Rank.values:
        raise ValidationError(f"Unknown rank {rank!r}.")


@transaction.atomic
def create_user(actor, username: str, password: str | None, roles=(), reason: str = "", **profile) -> User:
    """Create an account with its roles."""
    _authorise(actor, "accounts.add_user")
    _validate_profile(profile)
    user = User(username=username, **profile)
    user.is_staff = Role.ADMINISTRATOR in set(roles)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    _apply_roles(user, roles)
    audit.record(
        "account.create",
        user,
        actor,
        data={"username": username, "roles": sorted(r.value for r in user.roles), **profile},
        reason=reason,
    )
    return user


# An administrator manages accounts; holding an operational role as well would let them grant themselves power.
INCOMPATIBLE_WITH_ADMINISTRATOR = {Role.AUTHORISING_OFFICER, Role.WATCHLIST_COMPILER, Role.PRIVACY_OFFICER}


def _apply_roles(user: User, roles) -> None:
    wanted = {Role(role) for role in roles}
    if Role.ADMINISTRATOR in wanted and wanted & INCOMPATIBLE_WITH_ADMINISTRATOR:
        clash = ", ".join(sorted(r.label for r in wanted & INCOMPATIBLE_WITH_ADMINISTRATOR))
        raise ValidationError(f"An administrator may not also be: {clash}.")
    ensure_role_groups()
    role_groups = Group.objects.filter(name__in=Role.values)
    user.groups.remove(*[g for g in role_groups if g.name not in wanted])
    user.groups.add(*[g for g in role_groups if g.name in wanted])
    user.refresh_roles()


@transaction.atomic
def set_roles(actor, user: User, roles, reason: str = "") -> User:
    """Replace the user's roles; administrators also get access to the admin site."""
    _authorise(actor, "accounts.change_user", user)
    before = sorted(r.value for r in user.roles)
    _apply_roles(user, roles)
    after = sorted(r.value for r in user.roles)
    if before != after:
        user.is_staff = Role.ADMINISTRATOR in user.roles
        user.save(update_fields=["is_staff"])
        audit.record("account.roles_changed", user, actor, data={"before": before, "after": after}, reason=reason)
    return user


@transaction.atomic
def update_profile(actor, user: User, reason: str = "", **changes) -> User:
    """Change rank, warrant number, force, unit or name."""
    _authorise(actor, "accounts.change_user", user)
    _validate_profile(changes)
    before = {field: getattr(user, field) for field in changes}
    for field, value in changes.items():
        setattr(user, field, value)
    user.full_clean(exclude=["password"])
    user.save(update_fields=list(changes))
    changed = {field: [before[field], value] for field, value in changes.items() if before[field] != value}
    if changed:
        audit.record("account.update", user, actor, data={"changed": changed}, reason=reason)
    return user


@transaction.atomic
def set_password(actor, user: User, password: str, reason: str = "") -> User:
    """Set a new password (the log records that it changed, never the password)."""
    _authorise(actor, "accounts.change_user", user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record("account.password_set", user, actor, reason=reason)
    return user


@transaction.atomic
def deactivate(actor, user: User, reason: str) -> User:
    """Stop an account from signing in; accounts are never deleted, so the log's actors stay resolvable."""
    _authorise(actor, "accounts.change_user", user)
    if not reason.strip():
        raise ValidationError("A reason is required to deactivate an account.")
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit.record("account.deactivate", user, actor, reason=reason)
    return user


def token_digest(key: str) -> str:
    """The SHA-256 of a token: 256 random bits need no slow hash, and the digest is looked up by index."""
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def issue_token(user: User, name: str = "", via: str = "api") -> tuple[ApiToken, str]:
    """A new API token for `user` (who proved who they are); the clear key is returned here once, never stored."""
    if not user.is_active:
        raise PermissionDenied("An inactive account gets no token.")
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name.strip()[:100], prefix=key[:8], digest=token_digest(key))
    audit.record(
        "account.token_issued", token.user, user, data={"token": token.pk, "prefix": token.prefix, "name": token.name,
                                                        "via": via},
    )  # fmt: skip
    return token, key


@transaction.atomic
def revoke_token(actor, token: ApiToken, reason: str = "") -> ApiToken:
    """Revoke a token at once: its holder or an administrator; the row stays, so the log's references resolve."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    policy.require(actor, "accounts.revoke_apitoken", token)
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit.record(
        "account.token_revoked", token.user, actor, data={"token": token.pk, "prefix": token.prefix}, reason=reason
    )
    return token
