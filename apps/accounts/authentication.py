"""API authentication by token (`Authorization: Token <key>`), looked up by the key's SHA-256 and never stored."""

import datetime

from django.contrib.auth.models import Group
from django.contrib.postgres.expressions import ArraySubquery
from django.db import transaction
from django.db.models import OuterRef
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from .models import ApiToken, account_stamp
from .services.accounts import revoke_tokens, token_digest

CHANGED = (
    "This token was revoked: the account's roles, rank, password, authenticator or active flag changed since it was "
    "issued. Ask for a new token."
)
NEEDS_SECOND_FACTOR = (
    "This token was issued without a second factor, and this account now signs in with one: ask for a new token "
    "with the code from its authenticator app (otp)."
)

UNKNOWN_SCHEME = (
    "The Authorization header names no scheme this API takes: send `Authorization: Token <key>`, or leave the header "
    "out and sign in."
)

# Recording each use would write on every request; a token's last use is kept to the minute.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class HashedTokenAuthentication(TokenAuthentication):
    """DRF's token header and 401 challenge, against hashed, revocable ApiTokens."""

    keyword = "Token"
    model = ApiToken

    def authenticate(self, request):
        # A credential that cannot be read is refused, never passed over for the session cookie beside it: the
        # caller meant the header to say who they are.
        header = get_authorization_header(request).split()
        if header and header[0].lower() != self.keyword.lower().encode():
            raise exceptions.AuthenticationFailed(UNKNOWN_SCHEME)
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        # One query for the token, its user, the user's role names and authenticators: every API request by token
        # runs it. The token holds only while the account is as it was when the token was issued.
        group_names = Group.objects.filter(user=OuterRef("user_id")).values("name")
        devices = TOTPDevice.objects.filter(user=OuterRef("user_id"), confirmed=True).values("pk")
        token = (
            ApiToken.objects.select_related("user")
            .annotate(group_names=ArraySubquery(group_names), device_ids=ArraySubquery(devices))
            .filter(digest=token_digest(key))
            .first()
        )
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        user = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed("The token's account is inactive.")
        stamp = account_stamp(token.group_names, user.rank, user.is_active, user.password, token.device_ids)
        if stamp != token.account_stamp:
            # Changed by a path that did not revoke (a shell, a raw update): revoke now, so the log says so.
            with transaction.atomic():
                revoke_tokens(None, user, "the account changed since the token was issued")
            raise exceptions.AuthenticationFailed(CHANGED)
        user.prime_roles(token.group_names)
        if user.needs_second_factor and not token.second_factor:
            raise exceptions.AuthenticationFailed(NEEDS_SECOND_FACTOR)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
