"""Forms of the oversight pages: retention policies, threshold and engine proposals, decisions, access search."""

from django import forms

from .choices import ChangeKind, DataClass


class RetentionForm(forms.Form):
    """A new period for one data class, with the reason."""

    data_class = forms.ChoiceField(choices=DataClass.choices)
    days = forms.IntegerField(min_value=0, max_value=100 * 366, help_text="Whole days; zero deletes at once.")
    hours = forms.IntegerField(min_value=0, max_value=23, initial=0, required=False, help_text="And hours.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), min_length=20)


class RetentionReviewForm(forms.Form):
    """A review of one class's period: what was found, and when the next review is due."""

    data_class = forms.ChoiceField(choices=DataClass.choices)
    finding = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), min_length=20)
    next_review_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Next review due")

    def __init__(self, *args, **kwargs):
        # Its ids differ from the policy form's beside it on the page (both have a data class): one id, one element.
        kwargs.setdefault("auto_id", "id_review_%s")
        super().__init__(*args, **kwargs)


class ProposalForm(forms.Form):
    """A new threshold, or approval of the engine in use, citing a computed evaluation of the engine in force."""

    kind = forms.ChoiceField(choices=ChangeKind.choices)
    threshold = forms.DecimalField(max_digits=4, decimal_places=3, min_value=0, max_value=1, required=False)
    evaluation = forms.TypedChoiceField(
        coerce=int,
        help_text="The evaluation of the engine in force this rests on (manage.py evaluate_engine). The threshold "
        "must be safe by it for the largest approved list.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    equality_evidence = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the evaluation (and any report) shows for each sex and ethnic group at this setting.",
    )
    evidence = forms.FileField(
        required=False, help_text="Optional: a vendor's or laboratory's test report as well (PDF, text, CSV)."
    )

    def __init__(self, *args, evaluations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evaluation"].choices = [("", "Choose an evaluation")] + [(e.pk, e.label) for e in evaluations]


class ReasonForm(forms.Form):
    """Why a threshold or engine in force is withdrawn."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class DecisionForm(forms.Form):
    """A privacy officer's countersignature or rejection."""

    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class RangeForm(forms.Form):
    """A time range for an evidence bundle."""

    start = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise forms.ValidationError("The end must be after the start.")
        return data
