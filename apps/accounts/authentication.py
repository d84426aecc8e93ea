"""API authentication by token (`Authorization: Token <key>`), looked up by the key's SHA-256 and never stored."""

import datetime

from django.contrib.auth.models import Group
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, transaction
from django.db.models import OuterRef
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from govern import prepared

from .models import ApiToken, User, account_stamp
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


def _token_lookup() -> tuple[str, list[str], list[str]]:
    """The token lookup's SQL (Django writes it once, from the models) and the attribute names of its columns: the
    token's, then its user's, then the user's group names and confirmed authenticators."""
    group_names = Group.objects.filter(user=OuterRef("user_id")).values("name")
    devices = TOTPDevice.objects.filter(user=OuterRef("user_id"), confirmed=True).values("pk")
    token_fields = [field.attname for field in ApiToken._meta.concrete_fields]
    user_fields = [field.attname for field in User._meta.concrete_fields]
    columns = [*token_fields, *(f"user__{name}" for name in user_fields)]
    query = (
        ApiToken.objects.annotate(group_names=ArraySubquery(group_names), device_ids=ArraySubquery(devices))
        .filter(digest=DIGEST_PLACEHOLDER)
        .values_list(*columns, "group_names", "device_ids")
        .query
    )
    sql, params = query.sql_with_params()
    assert list(params) == [DIGEST_PLACEHOLDER], params  # the digest is the statement's one parameter
    return sql, token_fields, user_fields


DIGEST_PLACEHOLDER = "0" * 64
_LOOKUP: list = []  # the SQL and column names, made on first use (the models are ready by then)


def token_with_account(digest: str) -> ApiToken | None:
    """The token with this digest, its user loaded and their role names and authenticator ids on it, in one
    prepared statement: Django's query for the same took three times as long to build as to run (docs/benchmarks.md,
    API reads)."""
    if not _LOOKUP:
        _LOOKUP.append(_token_lookup())
    sql, token_fields, user_fields = _LOOKUP[0]
    with prepared.cursor() as cursor:
        prepared.execute(cursor, sql, [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    token = ApiToken.from_db(connection.alias, token_fields, row[: len(token_fields)])
    user = User.from_db(connection.alias, user_fields, row[len(token_fields) : len(token_fields) + len(user_fields)])
    token.user = user
    token.group_names, token.device_ids = row[-2] or [], row[-1] or []
    return token


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
        # One prepared statement for the token, its user, the user's role names and authenticators: every API request
        # by token runs it. The token holds only while the account is as it was when the token was issued.
        token = token_with_account(token_digest(key))
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
