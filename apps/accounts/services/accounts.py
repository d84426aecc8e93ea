"""Every change to accounts: permission check, one transaction, the change and its audit event.

`actor=None` means the system itself (a management command run by the operator); otherwise the actor must
hold the permission for the action.
"""

import hashlib
import secrets

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit import services as audit
from govern import policy
from govern.errors import Conflict
from govern.roles import Rank, Role

from ..choices import FOUR_EYES_ROLES, AccountChangeKind, AccountChangeState
from ..models import AccountChange, ApiToken, User

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
    """Create an account with its roles; a role of FOUR_EYES_ROLES given by an administrator waits for a second
    one (request_change), the others hold at once. `actor` None (the operator's commands) grants them all."""
    _authorise(actor, "accounts.add_user")
    _validate_profile(profile)
    wanted = {Role(role) for role in roles}
    _check_compatible(wanted)
    waiting = wanted & FOUR_EYES_ROLES if actor is not None else set()
    user = User(username=username, **profile)
    user.is_staff = Role.ADMINISTRATOR in wanted - waiting
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    _apply_roles(user, wanted - waiting)
    audit.record(
        "account.create",
        user,
        actor,
        data={"username": username, "roles": sorted(r.value for r in user.roles), **profile},
        reason=reason,
    )
    if waiting:
        _request_change(actor, user, AccountChangeKind.GRANT_ROLES, reason, roles=waiting)
    return user


# An administrator manages accounts; holding an operational role as well would let them grant themselves power.
INCOMPATIBLE_WITH_ADMINISTRATOR = {Role.AUTHORISING_OFFICER, Role.WATCHLIST_COMPILER, Role.PRIVACY_OFFICER}


def _check_compatible(wanted: set[Role]) -> None:
    if Role.ADMINISTRATOR in wanted and wanted & INCOMPATIBLE_WITH_ADMINISTRATOR:
        clash = ", ".join(sorted(r.label for r in wanted & INCOMPATIBLE_WITH_ADMINISTRATOR))
        raise ValidationError(f"An administrator may not also be: {clash}.")


def _apply_roles(user: User, roles) -> None:
    wanted = {Role(role) for role in roles}
    _check_compatible(wanted)
    ensure_role_groups()
    role_groups = Group.objects.filter(name__in=Role.values)
    user.groups.remove(*[g for g in role_groups if g.name not in wanted])
    user.groups.add(*[g for g in role_groups if g.name in wanted])
    user.refresh_roles()


@transaction.atomic
def set_roles(actor, user: User, roles, reason: str = "") -> User:
    """Replace the user's roles; administrators also get access to the admin site. A role of FOUR_EYES_ROLES that
    an administrator grants waits for a second administrator (request_change); the rest holds at once, removals
    included. `actor` None (the operator's commands) grants them all."""
    _authorise(actor, "accounts.change_user", user)
    wanted = {Role(role) for role in roles}
    _check_compatible(wanted)
    waiting = (wanted - set(user.roles)) & FOUR_EYES_ROLES if actor is not None else set()
    _replace_roles(actor, user, wanted - waiting, reason)
    if waiting:
        _request_change(actor, user, AccountChangeKind.GRANT_ROLES, reason, roles=waiting)
    return user


def _replace_roles(actor, user: User, roles, reason: str) -> User:
    before = sorted(r.value for r in user.roles)
    _apply_roles(user, roles)
    after = sorted(r.value for r in user.roles)
    if before != after:
        user.is_staff = Role.ADMINISTRATOR in user.roles
        user.save(update_fields=["is_staff"])
        audit.record("account.roles_changed", user, actor, data={"before": before, "after": after}, reason=reason)
        revoke_tokens(actor, user, "roles changed")
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
    if "rank" in changed:
        revoke_tokens(actor, user, "rank changed")
    return user


@transaction.atomic
def set_password(actor, user: User, password: str, reason: str = "") -> User:
    """Set a new password (the log records that it changed, never the password)."""
    _authorise(actor, "accounts.change_user", user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record("account.password_set", user, actor, reason=reason)
    revoke_tokens(actor, user, "password changed")
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
    revoke_tokens(actor, user, "account deactivated")
    return user


def token_digest(key: str) -> str:
    """The SHA-256 of a token: 256 random bits need no slow hash, and the digest is looked up by index."""
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def issue_token(user: User, name: str = "", via: str = "api", *, second_factor: bool = False) -> tuple[ApiToken, str]:
    """A new API token for `user` (who proved who they are, with a second factor if `second_factor`); the clear key
    is returned here once, never stored. The token is bound to the account as it stands (User.security_stamp)."""
    if not user.is_active:
        raise PermissionDenied("An inactive account gets no token.")
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.needs_second_factor and not second_factor:
        raise PermissionDenied("This account signs in with a second factor: a token needs it too.")
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip()[:100], prefix=key[:8], digest=token_digest(key), second_factor=second_factor,
        account_stamp=user.security_stamp(),
    )  # fmt: skip
    audit.record(
        "account.token_issued", token.user, user, data={"token": token.pk, "prefix": token.prefix, "name": token.name,
                                                        "via": via, "second_factor": second_factor},
    )  # fmt: skip
    return token, key


def revoke_tokens(actor, user: User, cause: str) -> int:
    """Revoke every open token of `user` because the account changed (roles, rank, authenticator, password or active
    flag); each revocation is logged with its cause. Runs inside the caller's transaction, after its change."""
    revoked = 0
    for token in ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True).order_by("pk"):
        token.revoked_at = timezone.now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit.record(
            "account.token_revoked", user, actor, data={"token": token.pk, "prefix": token.prefix, "cause": cause}
        )
        revoked += 1
    return revoked


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


# --- Four eyes: changes one administrator asks for and a second approves -------------------------------------------


def _request_change(actor, user: User, kind: str, reason: str, roles=()) -> AccountChange:
    """Record a change for a second administrator to approve; nothing changes until then."""
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why (for example the ticket or the person's new post)."})
    try:
        with transaction.atomic():
            change = AccountChange.objects.create(
                user=user, kind=kind, roles=sorted(Role(role).value for role in roles), reason=reason.strip(),
                requested_by=actor,
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(
            f"A change of this kind for {user.username} already awaits approval: decide that one first."
        ) from None
    audit.record(
        "account.change_requested", user, actor, data={"change": change.pk, "kind": kind, "roles": change.roles},
        reason=reason,
    )  # fmt: skip
    return change


def request_authenticator_removal(actor, user: User, reason: str) -> AccountChange:
    """An administrator asks to remove a person's authenticator (a lost phone); a second administrator approves."""
    _authorise(actor, "accounts.change_user", user)
    if actor is not None and actor.pk == user.pk:
        raise PermissionDenied("Nobody removes their own second factor: ask another administrator.")
    if actor is None:
        return remove_authenticator(None, user, reason)
    return _request_change(actor, user, AccountChangeKind.REMOVE_AUTHENTICATOR, reason)


def remove_authenticator(actor, user: User, reason: str) -> int:
    """Delete the person's authenticators (they enrol again with an enrolment code); their tokens are revoked."""
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    audit.record("account.second_factor_reset", user, actor, data={"devices": removed}, reason=reason)
    revoke_tokens(actor, user, "authenticator removed")
    return removed


@transaction.atomic
def approve_change(actor, change: AccountChange, reason: str = "") -> AccountChange:
    """A second administrator approves: the grant or the removal takes effect now, both steps in the log."""
    change = AccountChange.objects.select_for_update().get(pk=change.pk)
    policy.require(actor, "accounts.decide_accountchange", change)
    user = User.objects.select_for_update().get(pk=change.user_id)
    if change.kind == AccountChangeKind.GRANT_ROLES:
        asked = f"change {change.pk} approved; asked by {change.requested_by.username}: {change.reason}"
        _replace_roles(actor, user, set(user.roles) | {Role(role) for role in change.roles}, reason=asked)
    else:
        remove_authenticator(actor, user, reason=f"change {change.pk} approved: {change.reason}")
    change.state, change.decided_by, change.decided_at = AccountChangeState.APPROVED, actor, timezone.now()
    change.decision_reason = (reason or "").strip()
    change.save()
    audit.record("account.change_approved", user, actor, data={"change": change.pk, "kind": change.kind,
                 "roles": change.roles, "requested_by": change.requested_by.username}, reason=reason)  # fmt: skip
    return change


@transaction.atomic
def refuse_change(actor, change: AccountChange, reason: str) -> AccountChange:
    """A second administrator refuses: nothing changes; the refusal and its reason are logged."""
    change = AccountChange.objects.select_for_update().get(pk=change.pk)
    policy.require(actor, "accounts.decide_accountchange", change)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the change is refused."})
    change.state, change.decided_by, change.decided_at = AccountChangeState.REFUSED, actor, timezone.now()
    change.decision_reason = reason.strip()
    change.save()
    audit.record("account.change_refused", change.user, actor, data={"change": change.pk, "kind": change.kind},
                 reason=reason)  # fmt: skip
    return change
