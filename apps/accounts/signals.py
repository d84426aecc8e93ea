"""Sign-in, sign-out and refused sign-ins go into the audit log; refusals count towards the sign-in pause."""

from django.contrib.auth import signals
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.dispatch import receiver

from apps.audit import services as audit

from . import lockout


@receiver(signals.user_logged_in)
def _logged_in(sender, request, user, **_kwargs):
    with transaction.atomic():
        lockout.forget_failures(user.get_username())
        audit.record("account.login", user, user, data={"via": "web" if request is not None else "api"})


@receiver(signals.user_logged_out)
def _logged_out(sender, request, user, **_kwargs):
    if user is not None:
        audit.record("account.logout", user, user)


@receiver(signals.user_login_failed)
def _login_failed(sender, credentials, request=None, **_kwargs):
    # The attempted username is kept: repeated refusals for one account are what a privacy officer looks for.
    username = str(credentials.get("username", ""))[:150]
    address = lockout.address_of(request)
    if lockout.locked_until(username, address) is not None:
        # Refused without checking the password: logged, but not counted again (the pause does not grow).
        audit.record("account.login_failed", None, AnonymousUser(), data={"username": username, "paused": True})
        return
    with transaction.atomic():
        audit.record("account.login_failed", None, AnonymousUser(), data={"username": username})
        lockout.record_failure(username, address)
