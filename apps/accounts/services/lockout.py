"""Pausing sign-in after repeated failures: for the username from the address they come from, for the address,
and (at a much higher bar) for the username from anywhere.

A failure is counted against each key; when one reaches its limit within LOGIN_LOCKOUT_WINDOW_MINUTES, sign-in
with that username from that address (LOGIN_LOCKOUT_ATTEMPTS), from that address (LOGIN_LOCKOUT_ADDRESS_ATTEMPTS),
or with that username from anywhere (LOGIN_LOCKOUT_ACCOUNT_ATTEMPTS, a guess spread over many addresses) is refused
for LOGIN_LOCKOUT_MINUTES, whatever the password. So five anonymous requests no longer lock a commander out: they
pause only the address they came from, for that username.
The username is counted as typed, whether or not such an account exists, so a pause says nothing about which
accounts exist. A successful sign-in forgets the account's failures (not the address's: one valid account must
not let its holder keep guessing others' passwords from the same machine).
"""

import datetime
import ipaddress

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from apps.audit import services as audit

from ..choices import LockoutKey
from ..models import SignInFailure, SignInLockout, User

LOCKED_MESSAGE = (
    "Too many failed sign-ins for this account or from this address: signing in is paused until {until}. "
    "Try again then, or ask an administrator."
)
INVALID_LOGIN_TEXT = "Your username and password did not match, or the account is inactive."
FORGET_AFTER = datetime.timedelta(days=1)


def normalise(username) -> str:
    """The username as counted: trimmed, lower-case, at most 150 characters."""
    return str(username or "").strip().lower()[:150]


def address_of(request) -> str | None:
    """The client's address: the connection's, or with PROXY_FORWARDED_FOR the one our proxy appended last."""
    if request is None:
        return None
    if settings.PROXY_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or None


def _keys(username: str, address: str | None):
    name = normalise(username)
    if address:
        yield LockoutKey.USERNAME_AT_ADDRESS, _pair(name, address), settings.LOGIN_LOCKOUT_ATTEMPTS
        yield LockoutKey.ADDRESS, address, settings.LOGIN_LOCKOUT_ADDRESS_ATTEMPTS
        yield LockoutKey.USERNAME, name, settings.LOGIN_LOCKOUT_ACCOUNT_ATTEMPTS
    else:  # no address known (a command, a test client without one): the username alone
        yield LockoutKey.USERNAME, name, settings.LOGIN_LOCKOUT_ATTEMPTS


def _pair(name: str, address: str) -> str:
    return f"{name} from {address}"


def _failures(key: str, value: str):
    """The failures a key counts."""
    if key == LockoutKey.USERNAME_AT_ADDRESS:
        name, _, address = value.rpartition(" from ")
        return SignInFailure.objects.filter(username=name, address=address)
    field = "username" if key == LockoutKey.USERNAME else "address"
    return SignInFailure.objects.filter(**{field: value})


def locked_until(username, address: str | None) -> datetime.datetime | None:
    """When the pause on this username or address ends, or None when sign-in is open."""
    now = timezone.now()
    latest = None
    for key, value, _limit in _keys(username, address):
        until = (
            SignInLockout.objects.filter(key=key, value=value, locked_until__gt=now, lifted_at__isnull=True)
            .order_by("-locked_until")
            .values_list("locked_until", flat=True)
            .first()
        )
        if until is not None and (latest is None or until > latest):
            latest = until
    return latest


def message(until: datetime.datetime) -> str:
    """What a refused person reads: the same for every username, existing or not."""
    return LOCKED_MESSAGE.format(until=timezone.localtime(until).strftime("%H:%M"))


@transaction.atomic
def record_failure(username, address: str | None) -> list[SignInLockout]:
    """Count one failed sign-in; pause the username or address that reached its limit (each pause logged)."""
    now = timezone.now()
    SignInFailure.objects.filter(at__lt=now - FORGET_AFTER).delete()
    SignInFailure.objects.create(username=normalise(username), address=address, at=now)
    window_start = now - datetime.timedelta(minutes=settings.LOGIN_LOCKOUT_WINDOW_MINUTES)
    created = []
    for key, value, limit in _keys(username, address):
        last = SignInLockout.objects.filter(key=key, value=value).order_by("-locked_at").first()
        since = max(window_start, last.locked_at) if last is not None else window_start
        failures = _failures(key, value).filter(at__gt=since).count()
        if failures < limit:
            continue
        lockout = SignInLockout.objects.create(
            key=key,
            value=value,
            failures=failures,
            locked_at=now,
            locked_until=now + datetime.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES),
        )
        name = normalise(username)
        account = User.objects.filter(username__iexact=name).first() if key != LockoutKey.ADDRESS else None
        audit.record(
            "account.locked_out",
            account,
            AnonymousUser(),
            data={
                "key": key.value,
                "value": value,
                "failures": failures,
                "window_minutes": settings.LOGIN_LOCKOUT_WINDOW_MINUTES,
                "until": audit.format_time(lockout.locked_until),
            },
        )
        created.append(lockout)
    return created


def forget_failures(username) -> None:
    """A successful sign-in: the account's failures no longer count."""
    SignInFailure.objects.filter(username=normalise(username)).delete()


@transaction.atomic
def lift(actor, lockout: SignInLockout, reason: str) -> SignInLockout:
    """An administrator ends a pause early (with a reason, logged)."""
    from govern import policy

    policy.require(actor, "accounts.change_user")
    lockout.lifted_at = timezone.now()
    lockout.save(update_fields=["lifted_at"])
    _failures(lockout.key, lockout.value).delete()
    audit.record(
        "account.unlocked",
        ("accounts.signinlockout", lockout.pk),
        actor,
        data={"key": lockout.key, "value": lockout.value},
        reason=reason,
    )
    return lockout
