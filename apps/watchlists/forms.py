"""Forms of the watchlist pages; the services decide what is allowed."""

from django import forms

from .choices import ApprovalRoute, Category, LegalBasis
from .models import CustodyImage, Subject
from .services.custody import SUBJECT_FIELDS


class DateTimeInput(forms.DateTimeInput):
    """A browser date-time picker."""

    input_type = "datetime-local"


class WatchlistForm(forms.Form):
    """A new watchlist for one deployment's purpose."""

    purpose = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    intended_start = forms.DateTimeField(widget=DateTimeInput)
    intended_end = forms.DateTimeField(widget=DateTimeInput)

    def clean(self):
        """The period's sense with the other fields' errors, not after them (the service checks it again)."""
        data = super().clean()
        start, end = data.get("intended_start"), data.get("intended_end")
        if start and end and end <= start:
            self.add_error("intended_end", "The end must be after the start.")
        return data


class EntryForm(forms.Form):
    """One person to put on the list."""

    subject = forms.ModelChoiceField(queryset=Subject.objects.none(), widget=forms.HiddenInput)
    image = forms.IntegerField(widget=forms.HiddenInput)
    category = forms.ChoiceField(choices=[("", "Choose a category"), *Category.choices])
    offence = forms.CharField(required=False, max_length=200, help_text="For 'wanted for an offence'.")
    order_details = forms.CharField(required=False, max_length=300, help_text="For a court order or bail condition.")
    justification = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    under_18_rationale = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Required when the person is under 18."
    )

    def __init__(self, *args, subjects=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subject"].queryset = subjects if subjects is not None else Subject.objects.none()


class SubjectForm(forms.ModelForm):
    """A new subject in the gallery."""

    class Meta:
        model = Subject
        fields = list(SUBJECT_FIELDS)  # what the services accept, in one place
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"})}


class ImageForm(forms.Form):
    """A custody image upload."""

    image = forms.FileField()
    captured_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    source_system = forms.CharField(max_length=100)
    legal_basis = forms.ChoiceField(choices=LegalBasis.choices)
    legal_basis_note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DecisionForm(forms.Form):
    """An authorising officer's decision on the version reviewed: nothing chosen until the officer chooses."""

    content_hash = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        choices=[("approve", "Approve this version"), ("return", "Return it for changes")],
        widget=forms.RadioSelect,
        label="Your decision",
    )
    route = forms.ChoiceField(
        choices=ApprovalRoute.choices,
        initial=ApprovalRoute.STANDARD,
        widget=forms.RadioSelect,
        label="Approval route",
        help_text="Urgent: approved now by a lower rank, and lapses unless ratified.",
    )
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to return; for an urgent approval, the reason.",
    )

    def clean(self):
        """Every missing piece at once, before the confirmation (the service checks them again)."""
        data = super().clean()
        comment = (data.get("comment") or "").strip()
        if data.get("decision") == "return" and not comment:
            self.add_error("comment", "Say what must change.")
        if data.get("decision") == "approve" and data.get("route") == ApprovalRoute.URGENT and not comment:
            self.add_error("comment", "An urgent approval needs a written reason.")
        return data


class CommentForm(forms.Form):
    """A comment, e.g. for ratifying."""

    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


# --- Changing a list's entries and a subject's details (issue 23) ----------------------------------------------------


class EntryChangeForm(forms.Form):
    """A change to one entry: the image to match, the category, its detail and the justification."""

    image = forms.ModelChoiceField(queryset=CustodyImage.objects.none(), empty_label=None)
    category = forms.ChoiceField(choices=Category.choices)
    offence = forms.CharField(required=False, max_length=200, help_text="For 'wanted for an offence'.")
    order_details = forms.CharField(required=False, max_length=300, help_text="For a court order or bail condition.")
    justification = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    under_18_rationale = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Required when the person is under 18."
    )

    def __init__(self, *args, images=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["image"].queryset = images if images is not None else CustodyImage.objects.none()
        self.fields["image"].label_from_instance = lambda image: (
            f"Captured {image.captured_on:%Y-%m-%d} ({image.source_system})"
        )


class EntryRemoveForm(forms.Form):
    """Why a person is taken off the list."""

    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Why is this person taken off the list?"
    )


class SubjectChangeForm(SubjectForm):
    """A correction of a subject's details, with why (logged; lists with the old details start a new version)."""

    # Not `reason`: on a page that asks why a record is consulted, that name is the consultation's reason.
    change_reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Why do the details change?"
    )


class ErasureForm(forms.Form):
    """Why a subject or custody image is erased: recorded in the log under your name."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
        help_text="The request it carries out (its reference) or the decision, not the person's name: it is logged.",
    )  # fmt: skip
