"""How every form renders: GOV.UK Frontend's field groups, labels, hints and inline errors, so a page shows each
field alike and the error summary (govern/templates/forms/_error_summary.html) can link to every field in error."""

from django.forms.boundfield import BoundField
from django.forms.renderers import TemplatesSetting

# GOV.UK Frontend's class for each kind of widget (BoundField.widget_type); a widget not named keeps its own.
WIDGET_CLASSES = {
    "text": "govuk-input",
    "email": "govuk-input",
    "password": "govuk-input",
    "number": "govuk-input govuk-input--width-10",
    "decimal": "govuk-input govuk-input--width-10",
    "date": "govuk-input govuk-input--width-10",
    "datetime": "govuk-input govuk-input--width-20",
    "url": "govuk-input",
    "textarea": "govuk-textarea",
    "select": "govuk-select",
    "selectmultiple": "govuk-select",
    "file": "govuk-file-upload",
    "clearablefile": "govuk-file-upload",
    "radioselect": "govuk-radios__input",
    "checkboxselectmultiple": "govuk-checkboxes__input",
    "checkbox": "govuk-checkboxes__input",
}


class GovernBoundField(BoundField):
    """A field whose widget carries GOV.UK Frontend's class, and says so when in error."""

    def build_widget_attrs(self, attrs, widget=None):
        """The widget's attributes, with its GOV.UK class (and the error modifier when the field has an error)."""
        attrs = super().build_widget_attrs(attrs, widget)
        kind = WIDGET_CLASSES.get(self.widget_type)
        if kind is not None:
            classes = [attrs.get("class", ""), kind]
            if self.errors and kind.startswith(("govuk-input", "govuk-textarea", "govuk-select")):
                classes.append(kind.split()[0] + "--error")
            attrs["class"] = " ".join(name for name in classes if name)
        return attrs


class GovernFormRenderer(TemplatesSetting):
    """Forms and fields from govern/templates/forms/: one field group for every field on every page."""

    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
    bound_field_class = GovernBoundField
