"""API authentication by token (`Authorization: Token <key>`), looked up by the key's SHA-256 and never stored."""

import datetime

from django.contrib.auth.models import Group
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .models import ApiToken
from .services import token_digest

# Recording each use would write on every request; a token's last use is kept to the minute.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class HashedTokenAuthentication(TokenAuthentication):
    """DRF's token header and 401 challenge, against hashed, revocable ApiTokens."""

    keyword = "Token"
    model = ApiToken

    def authenticate_credentials(self, key):
        # One query for the token, its user and the user's role names: every API request by token runs it.
        group_names = Group.objects.filter(user=OuterRef("user_id")).values("name")
        token = (
            ApiToken.objects.select_related("user")
            .annotate(group_names=ArraySubquery(group_names))
            .filter(digest=token_digest(key))
            .first()
        )
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token's account is inactive.")
        token.user.prime_roles(token.group_names)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
