"""Every select (the filters' action lists run to some 150 options) renders its options inline in Govern's
`django/forms/widgets/select.html` rather than through an include per option, with markup equal to Django's own."""

import re

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from govern.form_rendering import GovernBoundField, GovernFormRenderer


class DjangosOwn(DjangoTemplates):
    """Django's own widget templates, with Govern's field class (its GOV.UK class names)."""

    bound_field_class = GovernBoundField


def _markup(html: str) -> str:
    return re.sub(r">\s+<", "><", html)  # the whitespace between tags (Django's option template ends in a newline)


class Choosing(forms.Form):
    plain = forms.ChoiceField(choices=[("", "Any"), ("a", "A & B"), ("<b>", '"quoted"')], required=False)
    grouped = forms.ChoiceField(choices=[("Group 1", [("1", "One"), ("2", "Two")]), ("3", "Three")])
    many = forms.MultipleChoiceField(choices=[(n, f"Option {n}") for n in range(5)], required=False)


@pytest.mark.parametrize("data", [None, {"plain": "<b>", "grouped": "2", "many": ["1", "3"]}])
def test_a_selects_markup_is_djangos_own(data):
    ours = Choosing(data, renderer=GovernFormRenderer())
    theirs = Choosing(data, renderer=DjangosOwn())
    for name in ("plain", "grouped", "many"):
        assert _markup(ours[name].as_widget()) == _markup(theirs[name].as_widget()), name


def test_a_select_includes_no_template_per_option():
    from django.template.loader import get_template

    source = get_template("django/forms/widgets/select.html").template.source
    assert "option.template_name" not in source and "{% include" in source  # only the select's own attributes
