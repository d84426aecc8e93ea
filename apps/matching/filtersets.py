"""Filters for matching's lists."""

import django_filters

from .models import CameraCredential


class CameraCredentialFilterSet(django_filters.FilterSet):
    """A van's or camera's credentials, in force or revoked."""

    asset = django_filters.NumberFilter(field_name="asset_id", help_text="The van's or camera's id.")
    revoked = django_filters.BooleanFilter(
        field_name="revoked_at", lookup_expr="isnull", exclude=True, help_text="true: revoked only; false: in force."
    )

    class Meta:
        model = CameraCredential
        fields = ["asset", "revoked"]
