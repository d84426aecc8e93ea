"""Sign-in, sign-out and refused sign-ins go into the audit log; refusals count towards the sign-in pause."""

from django.contrib.auth import signals
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.dispatch import receiver

from apps.audit import services as audit

from .models import User
from .services import lockout


@receiver(signals.user_logged_in)
def _logged_in(sender, request, user, **_kwargs):
    with transaction.atomic():
        lockout.forget_failures(user.get_username())
        audit.record("account.login", user, user, data={"via": "web" if request is not None else "api"})


@receiver(signals.user_logged_out)
def _logged_out(sender, request, user, **_kwargs):
    if user is not None:
        audit.record("account.logout", user, user)


def _attempted(username: str) -> dict:
    """How the log names the account tried: an existing account's username, which a privacy officer looks for in
    repeated refusals; anything else only as a commitment, since what was typed may be a password, and the log
    keeps it for ever."""
    if User.objects.filter(username=username).exists():
        return {"username": username}
    return {"unknown_username_commitment": audit.commitment(lockout.normalise(username))}


@receiver(signals.user_login_failed)
def _login_failed(sender, credentials, request=None, **_kwargs):
    username = str(credentials.get("username", ""))[:150]
    address = lockout.address_of(request)
    if lockout.locked_until(username, address) is not None:
        # Refused without checking the password: logged, but not counted again (the pause does not grow).
        audit.record("account.login_failed", None, AnonymousUser(), data={**_attempted(username), "paused": True})
        return
    with transaction.atomic():
        audit.record("account.login_failed", None, AnonymousUser(), data=_attempted(username))
        lockout.record_failure(username, address)
