"""Filter types shared by the apps' API filtersets."""

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field


@extend_schema_field(OpenApiTypes.INT)  # documented as an integer, a method filter too
class IntegerFilter(django_filters.NumberFilter):
    """A whole number (an id): 1.5 is refused with a 400, not looked up."""

    field_class = forms.IntegerField
