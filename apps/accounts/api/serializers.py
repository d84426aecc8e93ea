"""Serializers of the accounts API."""

from rest_framework import serializers

from govern.api.serializers import FieldsBuiltOnce

from ..models import ApiToken, User


class UserSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """An account with its roles (never the password)."""

    roles = serializers.SerializerMethodField()
    # Blank for police staff and for accounts without an e-mail: plain strings, so the schema allows "".
    rank = serializers.CharField(read_only=True, help_text="A rank code (see rank_label); blank for police staff.")
    email = serializers.CharField(read_only=True)
    rank_label = serializers.CharField(source="get_rank_display", read_only=True)

    class Meta:
        model = User
        fields = [
            "id", "username", "first_name", "last_name", "email", "rank", "rank_label", "warrant_number",
            "force", "unit", "roles", "is_active", "last_login", "date_joined",
        ]  # fmt: skip
        read_only_fields = fields

    def get_roles(self, user) -> list[str]:
        return sorted(role.value for role in user.roles)


class TokenRequestSerializer(serializers.Serializer):
    """Credentials exchanged for a new API token."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, help_text="What the token is for.")
    otp = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        help_text="The code from the account's authenticator app: needed by authorising officers, privacy officers "
        "and administrators.",
    )


class TokenSerializer(serializers.Serializer):
    """A new API token to send as `Authorization: Token <key>`: shown this once, never again."""

    token = serializers.CharField()
    id = serializers.IntegerField()
    prefix = serializers.CharField()
    name = serializers.CharField()


class ApiTokenSerializer(serializers.ModelSerializer):
    """An API token as listed: its first characters, never the key."""

    username = serializers.CharField(source="user.username", read_only=True)
    revoked_by = serializers.CharField(source="revoked_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = ApiToken
        fields = ["id", "username", "name", "prefix", "created_at", "last_used_at", "revoked_at", "revoked_by"]
        read_only_fields = fields


class RevocationSerializer(serializers.Serializer):
    """Why a token is revoked (optional)."""

    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)
