"""Forms of the deployment pages; the services decide what is allowed."""

from django import forms

from apps.watchlists.forms import DateTimeInput
from apps.watchlists.models import Watchlist

from .choices import LocationType
from .models import Asset, PolicyDocument


class PlanForm(forms.Form):
    """A deployment plan."""

    location_name = forms.CharField(max_length=200)
    address = forms.CharField(max_length=300)
    latitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90)
    longitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180)
    location_type = forms.ChoiceField(choices=LocationType.choices)
    grounds = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    evidence_refs = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    start = forms.DateTimeField(widget=DateTimeInput)
    end = forms.DateTimeField(widget=DateTimeInput)
    watchlist = forms.ModelChoiceField(queryset=Watchlist.objects.none())
    threshold = forms.DecimalField(max_digits=4, decimal_places=3, min_value=0, max_value=1, initial="0.600")
    assets = forms.ModelMultipleChoiceField(
        queryset=Asset.objects.filter(active=True), required=False, widget=forms.CheckboxSelectMultiple
    )
    documents = forms.ModelMultipleChoiceField(
        queryset=PolicyDocument.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, watchlists=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["watchlist"].queryset = watchlists if watchlists is not None else Watchlist.objects.none()


class NoticeForm(forms.Form):
    """The advance public notice."""

    published_at = forms.DateTimeField(widget=DateTimeInput)
    reference = forms.CharField(max_length=300, help_text="Where it was published.")


class ReasonForm(forms.Form):
    """A reason for an exemption, suspension or cancellation."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class ChecklistForm(forms.Form):
    """On-site ticks."""

    signage_up = forms.BooleanField(required=False)
    leaflets_available = forms.BooleanField(required=False)
    briefing_done = forms.BooleanField(required=False)
