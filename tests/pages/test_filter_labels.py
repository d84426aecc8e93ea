"""Every list page's filter says what it filters: no field falls back to django-filter's "[invalid name]", which a
method filter on a name that is not the model's field gets when it is given no label (the access log's record did)."""

import importlib
import pkgutil

import django_filters
import pytest

import apps

pytestmark = pytest.mark.django_db


def _filtersets():
    for module in pkgutil.iter_modules(apps.__path__):
        try:
            filtersets = importlib.import_module(f"apps.{module.name}.filtersets")
        except ModuleNotFoundError:
            continue
        for value in vars(filtersets).values():
            if isinstance(value, type) and issubclass(value, django_filters.FilterSet) and value._meta.model:
                yield from [value] if value.__module__ == filtersets.__name__ else []


@pytest.mark.parametrize("filterset", list(_filtersets()), ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_filter_has_a_label(filterset):
    form = filterset(queryset=filterset._meta.model.objects.none()).form
    unnamed = [name for name, field in form.fields.items() if "invalid name" in str(field.label)]
    assert not unnamed, f"{filterset.__name__}: give {unnamed} a label"
