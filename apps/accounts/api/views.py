"""The accounts API: who am I, the accounts list for administrators, API tokens."""

from django.contrib.auth import authenticate
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from apps.audit import services as audit
from apps.audit.access import ConsultationLoggedMixin
from govern.api.viewsets import RestrictedReadOnlyViewSet, StrictQueryMixin

from ..models import User
from . import serializers


class UserViewSet(ConsultationLoggedMixin, RestrictedReadOnlyViewSet):
    """Accounts, for administrators; reading one account's record is logged with a reason."""

    queryset = User.objects.prefetch_related("groups")
    serializer_class = serializers.UserSerializer


class MeView(StrictQueryMixin, APIView):
    """The signed-in account."""

    @extend_schema(responses=serializers.UserSerializer)
    def get(self, request):
        return Response(serializers.UserSerializer(request.user).data)


class TokenThrottle(AnonRateThrottle):
    """Slow down password guessing against the token endpoint."""

    rate = "20/min"


class TokenView(StrictQueryMixin, APIView):
    """Exchange a username and password for an API token (one per account; re-issuing returns it)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [TokenThrottle]

    @extend_schema(request=serializers.TokenRequestSerializer, responses=serializers.TokenSerializer)
    def post(self, request):
        credentials = serializers.TokenRequestSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(request, **credentials.validated_data)
        if user is None:
            raise exceptions.AuthenticationFailed("Wrong username or password, or the account is inactive.")
        with transaction.atomic():
            token, created = Token.objects.get_or_create(user=user)
            audit.record("account.token_issued", user, user, data={"new": created})
        return Response({"token": token.key})
