"""Forms of the Sarah's Law pages; the services decide what is allowed."""

from django import forms

from apps.accounts.models import User
from apps.watchlists.forms import DateTimeInput
from govern.roles import Role

from .choices import CarerKnows, CheckKind, ContactMethod, Decision, Forum, RiskLevel, Route, public_protection_unit

DATE = forms.DateInput(attrs={"type": "date"})
TEXT = forms.Textarea(attrs={"rows": 3})


class OpenCaseForm(forms.Form):
    """First contact: the route, the people, the triage, and the first child."""

    route = forms.ChoiceField(choices=Route.choices, initial=Route.RIGHT_TO_ASK)
    contact_method = forms.ChoiceField(choices=ContactMethod.choices)
    contact_at = forms.DateTimeField(widget=DateTimeInput, help_text="Every clock runs from here.")
    officer_in_charge = forms.ModelChoiceField(queryset=User.objects.none())
    applicant_name = forms.CharField(required=False, max_length=200)
    applicant_relationship = forms.CharField(required=False, max_length=200, help_text="To the child.")
    applicant_safe_contact = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="How and when it is safe to reach them."
    )
    subject_name = forms.CharField(max_length=200, label="Subject's name")
    subject_date_of_birth = forms.DateField(required=False, widget=DATE, label="Subject's date of birth")
    subject_relationship = forms.CharField(
        required=False, max_length=200, help_text="The subject's relationship to the child."
    )
    household = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    child_name = forms.CharField(max_length=200, label="Child's first name or initials")
    child_date_of_birth = forms.DateField(required=False, widget=DATE, label="Child's date of birth")
    child_carer_name = forms.CharField(required=False, max_length=200, label="Parent or carer")
    child_carer_knows = forms.ChoiceField(choices=CarerKnows.choices, label="Does the parent or carer know?")
    immediate_risk = forms.BooleanField(required=False, label="A child is at immediate risk")
    safeguarding_action = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What was done at once to safeguard the child.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        unit = User.objects.filter(is_active=True, unit__iexact=public_protection_unit(), groups__name=Role.OFFICER)
        self.fields["officer_in_charge"].queryset = unit.order_by("last_name", "username")

    def service_arguments(self) -> dict:
        """The service's keyword arguments."""
        data = dict(self.cleaned_data)
        child = {
            "name": data.pop("child_name"),
            "date_of_birth": data.pop("child_date_of_birth"),
            "carer_name": data.pop("child_carer_name"),
            "carer_knows": data.pop("child_carer_knows"),
        }
        return {**data, "children": [child]}


class ChildForm(forms.Form):
    """Another child."""

    name = forms.CharField(max_length=200, label="First name or initials")
    date_of_birth = forms.DateField(required=False, widget=DATE)
    carer_name = forms.CharField(required=False, max_length=200, label="Parent or carer")
    carer_knows = forms.ChoiceField(choices=CarerKnows.choices, label="Does the parent or carer know?")


class CheckForm(forms.Form):
    """A check made."""

    kind = forms.ChoiceField(choices=CheckKind.choices)
    agency = forms.CharField(required=False, max_length=200, help_text="For a partner agency: which, and who answered.")
    result = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    made_at = forms.DateTimeField(required=False, widget=DateTimeInput, help_text="Blank for now.")


class MeetingForm(forms.Form):
    """The face-to-face meeting."""

    identity_verified_with = forms.CharField(max_length=200, help_text="The document seen, e.g. passport.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    met_at = forms.DateTimeField(required=False, widget=DateTimeInput, help_text="Blank for now.")


class RiskAssessmentForm(forms.Form):
    """The full risk assessment."""

    risk_level = forms.ChoiceField(choices=RiskLevel.choices)
    assessment = forms.CharField(widget=TEXT)
    has_child_sexual_offence_convictions = forms.BooleanField(
        required=False, label="The subject has convictions for child sexual offences"
    )


class ForumDecisionForm(forms.Form):
    """The forum's decision."""

    forum = forms.ChoiceField(choices=Forum.choices)
    held_at = forms.DateTimeField(required=False, widget=DateTimeInput, help_text="Blank for now.")
    attendees = forms.CharField(widget=TEXT, help_text="One per line, with their agency.")
    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.RadioSelect, label="The forum's decision")
    rationale = forms.CharField(widget=TEXT)
    necessary_and_proportionate = forms.BooleanField(
        required=False, label="Disclosure is necessary and proportionate to protect the child"
    )


class UndertakingForm(forms.Form):
    """The recipient, the legal warning and the undertaking."""

    recipient_name = forms.CharField(max_length=200, help_text="The person best placed to protect the child.")
    recipient_relationship = forms.CharField(max_length=200, help_text="To the child.")
    recipient_is_applicant = forms.BooleanField(required=False, label="The recipient is the applicant")
    recipient_reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Why this person, if not the applicant."
    )
    warning_given = forms.BooleanField(required=False, label="The legal warning on confidentiality was given")
    signed = forms.TypedChoiceField(
        choices=[("yes", "Signed the undertaking"), ("no", "Refused to sign")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label="Undertaking",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DisclosureForm(forms.Form):
    """What was said, in person."""

    content = forms.CharField(widget=TEXT, label="What was said")
    in_person = forms.BooleanField(required=False, label="Disclosed in person")
    disclosed_at = forms.DateTimeField(required=False, widget=DateTimeInput, help_text="Blank for now.")


class ExtensionForm(forms.Form):
    """A request for more time."""

    days = forms.IntegerField(min_value=1, max_value=60)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class ExtensionDecisionForm(forms.Form):
    """A supervisor's decision on an extension."""

    extension = forms.IntegerField(widget=forms.HiddenInput)
    approve = forms.TypedChoiceField(
        choices=[("yes", "Approve"), ("no", "Refuse")], coerce=lambda value: value == "yes", widget=forms.RadioSelect
    )
    note = forms.CharField(required=False, max_length=2000)
