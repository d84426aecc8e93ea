"""Forms of the requests desk's pages; the services decide what is allowed."""

from django import forms

from apps.watchlists.forms import DateTimeInput

from .choices import MAX_EXTENSION_MONTHS, Channel, Decision, IdentityMethod, RefusalGround, RequestKind

TEXT = forms.Textarea(attrs={"rows": 3})
CONVICTION_CHOICES = [("yes", "Convicted"), ("no", "Not convicted")]


class LogRequestForm(forms.Form):
    """A request as it arrived: the right asked for, how and when, and who asks."""

    kind = forms.ChoiceField(choices=RequestKind.choices, label="Right asked for", widget=forms.RadioSelect)
    channel = forms.ChoiceField(choices=Channel.choices, label="How it arrived")
    received_at = forms.DateTimeField(widget=DateTimeInput, help_text="The month to answer runs from here.")
    requester_name = forms.CharField(max_length=250, label="Requester's full name")
    requester_date_of_birth = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Requester's date of birth"
    )
    requester_pnc_id = forms.CharField(required=False, max_length=20, label="PNC ID, if they gave one")
    requester_contact = forms.CharField(widget=TEXT, label="Where the response goes", max_length=2000)
    details = forms.CharField(
        required=False, widget=TEXT, max_length=4000,
        help_text="What they ask to be corrected, erased or restricted, in their words (optional for access).",
    )  # fmt: skip


class LinkForm(forms.Form):
    """Find the person's record: by PNC ID, or by full name and date of birth."""

    pnc_id = forms.CharField(required=False, max_length=20, label="PNC ID")
    name = forms.CharField(required=False, max_length=250, label="Or the full name")
    date_of_birth = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class IdentityForm(forms.Form):
    """How identity was checked, and what was seen."""

    method = forms.ChoiceField(choices=IdentityMethod.choices, widget=forms.RadioSelect, label="How")
    note = forms.CharField(widget=TEXT, max_length=2000, label="What was seen")


class ExtensionForm(forms.Form):
    """More time for a complex request, with the reason."""

    months = forms.TypedChoiceField(
        choices=[
            (months, f"{months} month{'s' if months > 1 else ''}") for months in range(1, MAX_EXTENSION_MONTHS + 1)
        ],
        coerce=int,
    )
    reason = forms.CharField(widget=TEXT, max_length=2000)


class DecisionForm(forms.Form):
    """Grant or refuse: two radios, neither chosen; a refusal names its ground and says why."""

    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.RadioSelect)
    refusal_ground = forms.ChoiceField(
        choices=RefusalGround.choices, required=False, widget=forms.RadioSelect, label="Ground of refusal"
    )
    note = forms.CharField(
        required=False, widget=TEXT, max_length=4000, help_text="Required to refuse: recorded in the audit log."
    )
    convicted = forms.TypedChoiceField(
        choices=CONVICTION_CHOICES, coerce=lambda value: value == "yes", empty_value=None, required=False,
        widget=forms.RadioSelect, label="Erasure: was the person convicted?",
        help_text="An unconvicted person's custody images are presumed to be deleted.",
    )  # fmt: skip
    presumption_reasons = forms.CharField(
        required=False, widget=TEXT, max_length=4000, label="Erasure refused, person not convicted: why kept",
        help_text="Why the presumption of deletion does not hold for this person.",
    )  # fmt: skip


class ResponseForm(forms.Form):
    """What the person was told, and how."""

    response = forms.CharField(widget=TEXT, max_length=4000, help_text="The request closes when this is recorded.")


class LiftForm(forms.Form):
    """Why the restriction is lifted."""

    reason = forms.CharField(widget=TEXT, max_length=2000)
