"""Forms of the deployment pages; the services decide what is allowed."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils import timezone

from apps.accounts.models import User
from apps.watchlists.forms import DateTimeInput
from apps.watchlists.models import Watchlist
from govern import places
from govern.roles import Role

from . import services
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


class AssetChoices(forms.ModelMultipleChoiceField):
    """The vans and cameras free for the period, each with its next bookings."""

    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, asset):
        upcoming = [f"{d.reference} {timezone.localtime(d.start):%d %b %H:%M}" for d in getattr(asset, "upcoming", [])]
        return f"{asset} (booked: {', '.join(upcoming)})" if upcoming else str(asset)


class PlanForm(forms.Form):
    """A deployment plan. The place is named and given its postcode, which finds its latitude and longitude
    (govern.places, offline); coordinates typed instead are checked against the postcode districts around them, and
    the confirmation step shows the place on a map before it is planned."""

    location_name = forms.CharField(max_length=200)
    address = forms.CharField(max_length=300, help_text="Street and town; the postcode is added from below.")
    postcode = forms.CharField(
        max_length=10,
        help_text="As on a letter, e.g. W1B 3AG: it places the deployment. A district alone (W1B) places it at the "
        "district's centre.",
    )
    latitude = forms.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False,
        help_text="Only to be more exact than the postcode: in degrees north, e.g. 51.515200; blank to take it from "
        "the postcode.",
    )  # fmt: skip
    longitude = forms.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False,
        help_text="With the latitude: in degrees east (west of Greenwich is negative), e.g. -0.141800.",
    )  # fmt: skip
    location_type = forms.ChoiceField(choices=[("", "Choose a type of place"), *LocationType.choices])
    grounds = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    evidence_refs = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    start = forms.DateTimeField(widget=DateTimeInput)
    end = forms.DateTimeField(widget=DateTimeInput)
    watchlist = forms.ModelChoiceField(
        queryset=Watchlist.objects.none(), required=False,
        help_text="Attach it now or later: a list is compiled shortly before the start, the plan and notice earlier.",
    )  # fmt: skip
    threshold = forms.DecimalField(max_digits=4, decimal_places=3, min_value=0, max_value=1, initial="0.600")
    assets = AssetChoices(
        queryset=Asset.objects.none(),
        required=False,
        help_text="A van or camera booked for a deployment at an overlapping time is not offered.",
    )
    documents = forms.ModelMultipleChoiceField(
        queryset=PolicyDocument.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    team = TeamField()

    def __init__(self, *args, watchlists=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["watchlist"].queryset = watchlists if watchlists is not None else Watchlist.objects.none()
        self.fields["assets"].queryset = self._free_assets()

    def _period(self):
        """The period typed, once both ends read as dates and times; else None."""
        if not self.is_bound:
            return None
        try:
            start = self.fields["start"].clean(self.data.get(self.add_prefix("start")))
            end = self.fields["end"].clean(self.data.get(self.add_prefix("end")))
        except ValidationError:
            return None
        return (start, end) if start < end else None

    def _free_assets(self):
        """Active assets not booked for a deployment overlapping the period typed, each with its next bookings."""
        assets = Asset.objects.filter(active=True)
        period = self._period()
        if period is not None:
            assets = assets.exclude(pk__in=services.booked(*period).values("assets"))
        now = timezone.now()
        upcoming = services.booked(now, now + datetime.timedelta(days=366)).order_by("start")
        return assets.prefetch_related(Prefetch("deployments", queryset=upcoming, to_attr="upcoming"))

    def clean_postcode(self):
        """The postcode (or district) in its usual form."""
        return places.normalise(self.cleaned_data["postcode"])

    def clean(self):
        """The period makes sense, and the place is found or checked (govern.places, as the service will): every
        problem at once, with the other fields'. `place` keeps what was found, for the confirmation step."""
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", "The end must be after the start.")
        self.place = None
        if data.get("postcode") and "latitude" not in self.errors and "longitude" not in self.errors:
            try:
                self.place = places.locate(
                    postcode=data["postcode"], latitude=data.get("latitude"), longitude=data.get("longitude")
                )
            except ValidationError as exc:
                for field, problems in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, problems)
        return data


class PlaceForm(forms.Form):
    """A place picked on the plan's map, to be named by its nearest postcode district before the plan checks it."""

    latitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90)
    longitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180)


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
