"""Sign-in, sign-out and refused sign-ins go into the audit log."""

from django.contrib.auth import signals
from django.contrib.auth.models import AnonymousUser
from django.dispatch import receiver

from apps.audit import services as audit


@receiver(signals.user_logged_in)
def _logged_in(sender, request, user, **_kwargs):
    audit.record("account.login", user, user, data={"via": "web" if request is not None else "api"})


@receiver(signals.user_logged_out)
def _logged_out(sender, request, user, **_kwargs):
    if user is not None:
        audit.record("account.logout", user, user)


@receiver(signals.user_login_failed)
def _login_failed(sender, credentials, request=None, **_kwargs):
    # The attempted username is kept: repeated refusals for one account are what a privacy officer looks for.
    username = str(credentials.get("username", ""))[:150]
    audit.record("account.login_failed", None, AnonymousUser(), data={"username": username})
