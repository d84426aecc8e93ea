"""Serializers of the accounts API."""

from rest_framework import serializers

from ..models import User


class UserSerializer(serializers.ModelSerializer):
    """An account with its roles (never the password)."""

    roles = serializers.SerializerMethodField()
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
    """Credentials exchanged for an API token."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    """An API token to send as `Authorization: Token <key>`."""

    token = serializers.CharField()
