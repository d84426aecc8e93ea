"""The authentication backend: Django's model backend behind the sign-in pause (apps.accounts.services.lockout)."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .services import lockout


class LockoutModelBackend(ModelBackend):
    """Username and password, refused outright while the username or the address is paused.

    Raising PermissionDenied stops Django trying any other backend and fires `user_login_failed`, which the
    accounts signals log (and count, unless the attempt came in while paused).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self.UserModel.USERNAME_FIELD)
        if lockout.locked_until(username, lockout.address_of(request)) is not None:
            raise PermissionDenied("Sign-in is paused.")
        return super().authenticate(request, username=username, password=password, **kwargs)
