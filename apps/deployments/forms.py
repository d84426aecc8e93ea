"""Forms of the deployment pages; the services decide what is allowed."""

from django import forms

from apps.accounts.models import User
from apps.watchlists.forms import DateTimeInput
from apps.watchlists.models import Watchlist
from govern.roles import Role

from .choices import AssetKind, DocumentKind, LocationType
from .models import Asset, PolicyDocument


def officers():
    """The accounts that may work at a deployment: active officers."""
    return User.objects.filter(is_active=True, groups__name=Role.OFFICER).order_by("last_name", "username")


class TeamField(forms.ModelMultipleChoiceField):
    """The officers working at a deployment, shown by rank, name and unit."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Only these officers see and judge the deployment's alerts.")
        super().__init__(queryset=officers(), required=False, **kwargs)

    def label_from_instance(self, user):
        name = user.get_full_name() or user.get_username()
        rank = f"{user.get_rank_display()} " if user.rank else ""
        return f"{rank}{name} ({user.unit})" if user.unit else f"{rank}{name}"


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
    watchlist = forms.ModelChoiceField(
        queryset=Watchlist.objects.none(), required=False,
        help_text="Attach it now or later: a list is compiled shortly before the start, the plan and notice earlier.",
    )  # fmt: skip
    threshold = forms.DecimalField(max_digits=4, decimal_places=3, min_value=0, max_value=1, initial="0.600")
    assets = forms.ModelMultipleChoiceField(
        queryset=Asset.objects.filter(active=True), required=False, widget=forms.CheckboxSelectMultiple
    )
    documents = forms.ModelMultipleChoiceField(
        queryset=PolicyDocument.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    team = TeamField()

    def __init__(self, *args, watchlists=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["watchlist"].queryset = watchlists if watchlists is not None else Watchlist.objects.none()


class WatchlistForm(forms.Form):
    """Attach (or change) the deployment's watchlist."""

    watchlist = forms.ModelChoiceField(queryset=Watchlist.objects.none())
    reason = forms.CharField(required=False, max_length=2000, help_text="Needed if the plan was authorised.")

    def __init__(self, *args, watchlists=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["watchlist"].queryset = watchlists if watchlists is not None else Watchlist.objects.none()


class TeamForm(forms.Form):
    """Who works at the deployment, and why it changed."""

    team = TeamField()
    reason = forms.CharField(required=False, max_length=2000, help_text="Why the team changes (e.g. a new shift).")


class NoticeForm(forms.Form):
    """The advance public notice."""

    published_at = forms.DateTimeField(
        widget=DateTimeInput, required=False,
        help_text="When it was published: no earlier than the plan, never in the future; blank for now.",
    )  # fmt: skip
    reference = forms.CharField(max_length=300, help_text="Where it was published.")


class ReasonForm(forms.Form):
    """A reason for an exemption, suspension or cancellation."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class ChecklistForm(forms.Form):
    """On-site ticks."""

    signage_up = forms.BooleanField(required=False)
    leaflets_available = forms.BooleanField(required=False)
    briefing_done = forms.BooleanField(required=False)


# --- The registers: vans and cameras, policy documents ---------------------------------------------------------------


class DateInput(forms.DateInput):
    """A browser date picker."""

    input_type = "date"


class AssetForm(forms.Form):
    """A van or camera to register."""

    kind = forms.ChoiceField(choices=AssetKind.choices)
    identifier = forms.CharField(max_length=50, help_text="Fleet number or camera serial.")
    description = forms.CharField(max_length=200, required=False)


class RetireForm(forms.Form):
    """Why a van or camera is retired."""

    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class DocumentForm(forms.Form):
    """A new version of a DPIA, EIA or appropriate policy document."""

    kind = forms.ChoiceField(choices=DocumentKind.choices)
    version = forms.CharField(max_length=20)
    title = forms.CharField(max_length=200)
    reference = forms.CharField(max_length=200, required=False, help_text="Where the document itself is kept.")
    review_by = forms.DateField(widget=DateInput, help_text="After this date it is not current until reviewed.")
