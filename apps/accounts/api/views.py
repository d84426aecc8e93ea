"""The accounts API: who am I, the accounts list for administrators, API tokens."""

from django.contrib.auth import authenticate
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, permissions
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from apps.audit.access import stated_reason
from govern.api.viewsets import RestrictedReadOnlyViewSet, RestrictedViewSet, StrictQueryMixin

from .. import selectors
from ..models import ApiToken, User
from ..services import accounts, lockout, two_factor
from . import serializers


class UserViewSet(RestrictedReadOnlyViewSet):
    """Accounts, for administrators; reading them, the list or one account's record, is logged with a reason."""

    queryset = User.objects.prefetch_related("groups")
    serializer_class = serializers.UserSerializer

    @extend_schema(parameters=[OpenApiParameter("reason", str, required=True)])
    def list(self, request, *args, **kwargs):
        """Accounts, a page at a time; logged with your reason and the ids on the page."""
        shown = selectors.users(request.user, stated_reason(request), take=self.paginate_queryset, surface="api")
        return self.get_paginated_response(self.get_serializer(shown, many=True).data)

    @extend_schema(parameters=[OpenApiParameter("reason", str, required=True)])
    def retrieve(self, request, *args, **kwargs):
        """One account; logged with your reason."""
        reason = stated_reason(request)
        return Response(self.get_serializer(selectors.user(request.user, self.get_object(), reason)).data)


class MeView(StrictQueryMixin, APIView):
    """The signed-in account."""

    @extend_schema(responses=serializers.UserSerializer)
    def get(self, request):
        return Response(serializers.UserSerializer(request.user).data)


class TokenThrottle(AnonRateThrottle):
    """Slow down password guessing against the token endpoint."""

    rate = "20/min"


class TokenView(StrictQueryMixin, APIView):
    """Exchange a username and password (and the two-factor code, for the roles that need one) for a new API token,
    shown once (only its SHA-256 is kept)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [TokenThrottle]

    @extend_schema(request=serializers.TokenRequestSerializer, responses=serializers.TokenSerializer)
    def post(self, request):
        credentials = serializers.TokenRequestSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        username, password = credentials.validated_data["username"], credentials.validated_data["password"]
        user = authenticate(request, username=username, password=password)
        if user is None:
            until = lockout.locked_until(username, lockout.address_of(request))
            if until is not None:
                raise exceptions.AuthenticationFailed(lockout.message(until))
            raise exceptions.AuthenticationFailed("Wrong username or password, or the account is inactive.")
        if user.needs_second_factor:
            # A token is a sign-in that lasts: the roles that sign in with a second factor need it here too.
            code = credentials.validated_data.get("otp", "")
            if not code:
                raise exceptions.AuthenticationFailed(
                    "This account signs in with a second factor: send the code from its authenticator app as otp."
                )
            if two_factor.verify(user, code, via="api") is None:
                raise exceptions.AuthenticationFailed(
                    "That two-factor code is not right, or was used already (no authenticator app yet? Sign in on the "
                    "web once to add one)."
                )
        with transaction.atomic():
            lockout.forget_failures(user.get_username())
            token, key = accounts.issue_token(
                user, credentials.validated_data.get("name", ""), second_factor=user.needs_second_factor
            )
        return Response({"token": key, "id": token.pk, "prefix": token.prefix, "name": token.name})


class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Your API tokens (an administrator's: everyone's), never their keys; revoke one at once."""

    queryset = ApiToken.objects.select_related("user", "revoked_by")
    serializer_class = serializers.ApiTokenSerializer
    action_rules = {"revoke": "accounts.revoke_apitoken"}

    @extend_schema(request=serializers.RevocationSerializer, responses=serializers.ApiTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Revoke the token: it stops authenticating at once."""
        body = serializers.RevocationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token = accounts.revoke_token(request.user, self.get_object(), body.validated_data.get("reason", ""))
        return Response(serializers.ApiTokenSerializer(token).data)
