"""Pages: planning, the commander's authorisation queue, the schedule, a deployment with its gate (the public's
pages are the public app's)."""

import calendar
import datetime
from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.watchlists.enrolments import enrolment_of
from apps.watchlists.models import Watchlist
from govern import maps, places, policy, tables
from govern.errors import Conflict
from govern.pages import act_with_reason, added, confirmed, form_errors, perform, posted_revision, visible_or_404

from . import services
from .choices import BOOKING_STATES, DOCUMENT_REVIEW_NOTICE_DAYS, STOPPABLE_STATES, DeploymentState
from .filtersets import DeploymentPageFilterSet
from .forms import (
    AssetForm,
    ChecklistForm,
    DocumentForm,
    NoticeForm,
    PlaceForm,
    PlanForm,
    ReasonForm,
    RetireForm,
    TeamForm,
    WatchlistForm,
)
from .models import Asset, Deployment, PolicyDocument
from .tables import DeploymentTable


def _visible(request, pk) -> Deployment:
    return visible_or_404(request.user, Deployment.objects.select_related("watchlist"), pk)


@login_required
@require_safe
def deployment_list(request):
    """Deployments the user may see, sorted, filtered and paged (or as CSV), the latest start first; for a
    commander, the authorisation queue first."""
    policy.require(request.user, "deployments.view_deployment")
    visible = Deployment.objects.restrict(request.user, "view").select_related("watchlist", "planned_by")
    filterset = DeploymentPageFilterSet(request.GET, queryset=visible.order_by("-start"))
    listing = tables.Listing(request, filterset, DeploymentTable)
    if export := listing.export("deployments"):
        return export
    context = listing.page(
        queue=visible.filter(state=DeploymentState.PLANNED, end__gt=timezone.now()).order_by("start")
        if policy.may(request.user, "deployments.authorise_deployment")
        else [],
        may_plan=policy.may(request.user, "deployments.add_deployment"),
        may_stop_all=policy.may(request.user, "deployments.emergency_stop"),
        running=visible.filter(state__in=STOPPABLE_STATES).count(),
        stop_form=ReasonForm(auto_id="stop_all_%s"),
    )
    return render(request, "deployments/list.html", context, status=listing.status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def deployment_plan(request):
    """Plan a deployment."""
    policy.require(request.user, "deployments.add_deployment")
    form = PlanForm(request.POST or None, watchlists=_usable_watchlists(request.user))
    if request.method == "POST" and form.is_valid() and not confirmed(request):
        context = {
            "form": form,
            "confirm": _plan_confirmation(request, form),
            "map": _place_map(form.place),
            "place_text": f"{form.cleaned_data['location_name']}, {form.place.latitude}, {form.place.longitude}",
        }
        return render(request, "deployments/plan.html", context)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deployment = services.plan(
                request.user, assets=list(data.pop("assets")), documents=list(data.pop("documents")), **data
            )
        except ValidationError as exc:
            form_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{deployment.reference} planned.")
            return redirect("deployments:detail", pk=deployment.pk)
    return render(request, "deployments/plan.html", {"form": form})


@login_required
@require_safe
def place_nearest(request):
    """A place picked on the plan's map (static/govern/place-pick.js): its nearest postcode district, or why it would
    be refused, checked as the plan checks it (govern.places); the plan checks what is submitted again."""
    policy.require(request.user, "deployments.add_deployment")
    form = PlaceForm(request.GET)
    if not form.is_valid():
        problems = [f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()]
        return JsonResponse({"problem": " ".join(problems)}, status=400)
    try:
        place = places.locate(latitude=form.cleaned_data["latitude"], longitude=form.cleaned_data["longitude"])
    except ValidationError as exc:
        return JsonResponse({"problem": " ".join(exc.messages)}, status=400)
    point = places.Point(float(place.latitude), float(place.longitude))
    where = f"{place.latitude}, {place.longitude}"
    if places.in_northern_ireland(point):
        return JsonResponse(
            {
                "latitude": str(place.latitude),
                "longitude": str(place.longitude),
                "district": None,
                "said": f"Picked {where}, in Northern Ireland: Govern has no postcode data there to name it by.",
            }
        )
    district = place.district
    return JsonResponse(
        {
            "latitude": str(place.latitude),
            "longitude": str(place.longitude),
            "district": district.code,
            "km": round(district.km, 2),
            "said": f"Picked {where}: the nearest postcode district is {district.code}, its centre {district.km:.1f} "
            f"km {maps.direction(point, district.point)}.",
        }
    )


def _place_map(place: places.Place) -> dict:
    """The map of a place, with the postcode's own point when the place was typed away from it."""
    centre = places.Point(float(place.latitude), float(place.longitude))
    postcode_point = places.point_of(place.postcode) if place.found_by == "typed" and place.postcode else None
    return maps.place_map(centre, postcode_point=postcode_point)


# Farther than this from its postcode's point, a place typed by hand is pointed out at the confirmation step (km).
TYPED_AWAY_KM = 1.0


def _plan_confirmation(request, form) -> dict:
    """What planning will record, said before it is done, with where the place was found; the form's data re-posted
    as it was, so the service checks it again."""
    data, place = form.cleaned_data, form.place
    if place.found_by == "postcode":
        found = f"The place is the postcode {place.postcode}'s own point ({place.latitude}, {place.longitude})."
    elif place.found_by == "district":
        found = (
            f"The place is the centre of postcode district {place.postcode} ({place.latitude}, {place.longitude}), "
            f"the mean of its {places.district_size(place.postcode):,} postcodes: it can be kilometres from the "
            "street. Give the full postcode, or the latitude and longitude, to be exact."
        )
    else:
        found = (
            "The place is the latitude and longitude given, typed or picked on the map "
            f"({place.latitude}, {place.longitude})"
        )
        if place.from_postcode_km is not None:
            away = place.from_postcode_km
            found += f", {away} km from the postcode {place.postcode}'s own point"
            if away > TYPED_AWAY_KM:
                found += ": check that the coordinates and the postcode are of the same place"
        found += "."
    start, end = timezone.localtime(data["start"]), timezone.localtime(data["end"])
    return {
        "title": f"Plan live facial recognition at {data['location_name']}, {start:%Y-%m-%d %H:%M} to {end:%H:%M}"
        if start.date() == end.date()
        else f"Plan live facial recognition at {data['location_name']}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}",
        "what": [
            found,
            _nearest_district(place),
            "The plan is recorded in the audit log under your name; a commander authorises it before it can go live.",
        ],
        "fields": [
            (name, value) for name, values in request.POST.lists() if name not in _NOT_REPOSTED for value in values
        ],
        "button": "Confirm: plan the deployment",
        "back": "#plan-form",
        "back_label": "Change the plan below",
    }


_NOT_REPOSTED = ("csrfmiddlewaretoken", "confirmed")


def _nearest_district(place: places.Place) -> str:
    """The nearest district to check the place by; in Northern Ireland, that there is none to check by."""
    if places.in_northern_ireland(places.Point(float(place.latitude), float(place.longitude))):
        return (
            "The place is in Northern Ireland, whose postcodes Govern has no open data for: the coordinates are "
            "checked to lie within Northern Ireland's extent only, and the districts on the map are Great Britain's. "
            "Check the coordinates against another map before you confirm."
        )
    return (
        f"The nearest postcode district is {place.district.code} (its centre {place.district.km:.1f} km away): "
        "check on the map that this is the place you mean."
    )


@login_required
@require_safe
def deployment_detail(request, pk):
    """A deployment, its gate condition by condition, and the actions open to the user."""
    deployment = _visible(request, pk)
    user = request.user
    context = {
        "deployment": deployment,
        "map": maps.place_map(places.Point(float(deployment.latitude), float(deployment.longitude))),
        "place_text": f"{deployment.location_name}, {deployment.latitude}, {deployment.longitude}",
        "gate": services.gate(deployment),
        "enrolment": enrolment_of(deployment.watchlist, services.list_version(deployment)),
        "may_reenrol": deployment.watchlist is not None
        and policy.may(user, "matching.reenrol_watchlist", deployment.watchlist)
        and deployment.state in (DeploymentState.PLANNED, DeploymentState.AUTHORISED, DeploymentState.LIVE),
        "live": services.is_live(deployment),
        "outcome": getattr(deployment, "figures", None),
        "may_authorise": deployment.state in (DeploymentState.PLANNED, DeploymentState.STOPPED)
        and policy.may(user, "deployments.authorise_deployment", deployment),
        "authorise_refusal": policy.refusal(user, "deployments.authorise_deployment", deployment),
        "may_change": policy.may(user, "deployments.change_deployment", deployment)
        and deployment.state in (DeploymentState.PLANNED, DeploymentState.AUTHORISED),
        "may_exempt": policy.may(user, "deployments.exempt_notice", deployment),
        "may_run": policy.may(user, "deployments.run_deployment", deployment),
        "may_command": policy.may(user, "deployments.command_deployment", deployment),
        # Officers on the team run it on site: they take it live and end it early, as the API lets them.
        "may_go_live": policy.may(user, "deployments.go_live", deployment),
        "may_end": policy.may(user, "deployments.end_deployment", deployment),
        "may_emergency_stop": deployment.state in STOPPABLE_STATES and policy.may(user, "deployments.emergency_stop"),
        "stop_form": ReasonForm(auto_id="stop_%s"),
        "end_form": ReasonForm(auto_id="end_%s"),
        "may_see_alerts": policy.may(user, "matching.view_deployment_alerts", deployment),
        # The registers' links only to whom they open (oversight may read deployments, not the asset register).
        "may_see_assets": policy.may(user, "deployments.view_asset"),
        "may_see_documents": policy.may(user, "deployments.view_policydocument"),
        "may_change_team": policy.may(user, "deployments.change_team", deployment),
        "team": deployment.team.order_by("last_name", "username"),
        "team_form": TeamForm(initial={"team": deployment.team.all()}, auto_id="team_%s"),
        "watchlist_form": WatchlistForm(
            initial={"watchlist": deployment.watchlist_id}, watchlists=_usable_watchlists(user), auto_id="watchlist_%s"
        ),
        "notice_form": NoticeForm(auto_id="notice_%s"),
        # One reason form per button, each with its own ids: a page's ids are unique.
        "suspend_form": ReasonForm(auto_id="suspend_%s"),
        "exempt_form": ReasonForm(auto_id="exempt_%s"),
        "cancel_form": ReasonForm(auto_id="cancel_%s"),
        "checklist_form": ChecklistForm(
            auto_id="checklist_%s",
            initial={
                "signage_up": deployment.signage_up,
                "leaflets_available": deployment.leaflets_available,
                "briefing_done": deployment.briefing_done,
            },
        ),
    }
    return render(request, "deployments/detail.html", context)


def _notice(user, deployment, post):
    form = NoticeForm(post)
    if not form.is_valid():
        raise ValidationError(form.errors.as_text())
    return services.publish_notice(user, deployment, **form.cleaned_data)


def _checklist(user, deployment, post):
    form = ChecklistForm(post)
    form.is_valid()
    return services.update_checklist(user, deployment, **form.cleaned_data)


def _usable_watchlists(user):
    return Watchlist.objects.restrict(user, "view").exclude(state__in=["expired", "purged"])


def _watchlist(user, deployment, post, revision):
    policy.require(user, "deployments.change_deployment")  # the role first: a 403, not a message about the form
    form = WatchlistForm(post, watchlists=_usable_watchlists(user))
    if not form.is_valid():
        raise ValidationError(form.errors.as_text())
    return services.update_plan(
        user,
        deployment,
        watchlist=form.cleaned_data["watchlist"],
        reason=form.cleaned_data["reason"],
        expected_revision=revision,
    )


def _team(user, deployment, post):
    form = TeamForm(post)
    if not form.is_valid():
        raise ValidationError(form.errors.as_text())
    return services.set_team(user, deployment, form.cleaned_data["team"], reason=form.cleaned_data["reason"])


def _go_live(user, deployment):
    went, conditions = services.try_go_live(deployment, actor=user)
    if not went:
        raise ValidationError([c.detail for c in conditions if not c.ok])


@login_required
@require_POST
def deployment_act(request, pk, act):
    """One button on the deployment page: the same services as the API."""
    deployment, user, post = _visible(request, pk), request.user, request.POST
    actions = {
        "authorise": lambda: services.authorise(user, deployment, revision=posted_revision(request)),
        "notice": lambda: _notice(user, deployment, post),
        "exempt": lambda: services.exempt_notice(user, deployment, reason=post.get("reason", "")),
        "checklist": lambda: _checklist(user, deployment, post),
        "team": lambda: _team(user, deployment, post),
        "watchlist": lambda: _watchlist(user, deployment, post, posted_revision(request)),
        "go-live": lambda: _go_live(user, deployment),
        "suspend": lambda: services.suspend(user, deployment, reason=post.get("reason", "")),
        "resume": lambda: services.resume(user, deployment),
        "cancel": lambda: services.cancel(user, deployment, reason=post.get("reason", "")),
        "end-early": lambda: services.end_early(user, deployment, reason=post.get("reason", "")),
        "emergency-stop": lambda: services.emergency_stop(user, post.get("reason", ""), deployment),
    }
    if act not in actions:
        raise Http404("No such action.")
    confirm = None if confirmed(request) else _confirmation(request, deployment, act)
    if confirm is not None:
        return render(request, "deployments/confirm.html", {"deployment": deployment, "confirm": confirm})
    perform(request, actions[act], success=f"{deployment.reference}: done.")
    return redirect("deployments:detail", pk=pk)


# The decisions that end a deployment, each confirmed with its reason: (rule, title, what it does, button).
_ENDINGS = {
    "cancel": (
        "deployments.command_deployment",
        "Cancel",
        ["The deployment ends for good: it cannot go live or resume afterwards."],
        "Confirm: cancel the deployment",
    ),
    "end-early": (
        "deployments.end_deployment",
        "End now:",
        [
            "Matching stops now and the deployment is completed: it cannot go live again.",
            "The watchlist's purge starts from now, as at a planned end.",
        ],
        "Confirm: end the deployment now",
    ),
    "emergency-stop": (
        "deployments.emergency_stop",
        "Emergency stop:",
        [
            "Capture stops now: its cameras' next frame is refused, and the demo camera stops filming.",
            "Its authorisation no longer counts: it runs again only once an authorising officer authorises it anew.",
        ],
        "Confirm: stop live capture now",
    ),
}


@login_required
@require_POST
def emergency_stop_all(request):
    """Stop every authorised, live or suspended deployment of the force, with the reason, after a confirmation that
    names them (a commander or the privacy officer; the same service as the API and the command)."""
    policy.require(request.user, "deployments.emergency_stop")
    reason = request.POST.get("reason", "").strip()
    if reason and not confirmed(request):
        running = Deployment.objects.filter(state__in=STOPPABLE_STATES).order_by("start")
        names = ", ".join(f"{d.reference} ({d.location_name}, {d.get_state_display().lower()})" for d in running)
        confirm = {
            "title": "Stop all live capture of the force",
            "what": [
                f"Every deployment that runs or could run stops now: {names or 'none runs now'}.",
                "Their cameras' next frames are refused; each runs again only once authorised anew.",
                f"The reason is recorded on each and in the audit log: \u201c{reason}\u201d.",
            ],
            "fields": [("reason", reason)],
            "button": "Confirm: stop all live capture",
            "warning": True,
            "back": reverse("deployments:list"),
        }
        return render(request, "deployments/confirm_stop_all.html", {"confirm": confirm})
    perform(
        request,
        lambda: services.emergency_stop(request.user, reason),
        success="Every authorised, live or suspended deployment is stopped.",
    )
    return redirect("deployments:list")


def _confirmation(request, deployment, act) -> dict | None:
    """What authorising or cancelling will do, said before it is done (None: no confirmation, act now). Shown only
    to who may do it and with what the service needs; anything else goes straight to the service, which refuses."""
    user, post, back = request.user, request.POST, reverse("deployments:detail", args=[deployment.pk])
    if act == "authorise" and policy.may(user, "deployments.authorise_deployment", deployment):
        try:
            revision = posted_revision(request)
        except ValidationError:
            return None  # a forged revision: the service's refusal says so
        if revision is None:
            return None
        return {
            "title": f"Authorise {deployment.reference} at revision {revision}",
            "what": [
                f"Live facial recognition may run at {deployment.location_name} from "
                f"{timezone.localtime(deployment.start):%Y-%m-%d %H:%M} to "
                f"{timezone.localtime(deployment.end):%Y-%m-%d %H:%M} at threshold {deployment.threshold}, once the "
                "go-live gate passes.",
                "Your authorisation is bound to this revision of the plan and to the watchlist version approved now: "
                "a later change to the plan withdraws it.",
                "It is recorded in the audit log under your name.",
            ],
            "fields": [("revision", revision)],
            "button": f"Confirm: authorise revision {revision}",
            "back": back,
        }
    if act in _ENDINGS and post.get("reason", "").strip():
        rule, title, what, button = _ENDINGS[act]
        if policy.may(user, rule, deployment):
            return {
                "title": f"{title} {deployment.reference}",
                "what": [
                    *what,
                    "The reason is recorded on the deployment and in the audit log: "
                    f"\u201c{post['reason'].strip()}\u201d.",
                ],
                "fields": [("reason", post["reason"])],
                "button": button,
                "warning": True,
                "back": back,
            }
    return None


SCHEDULE_YEARS = (1900, 9000)


@login_required
@require_safe
def schedule(request):
    """A week or month calendar of deployments by status."""
    policy.require(request.user, "deployments.view_deployment")
    view = request.GET.get("view", "week")
    if view not in ("week", "month"):
        view = "week"
    try:
        day = (
            datetime.date.fromisoformat(request.GET.get("date", ""))
            if request.GET.get("date")
            else timezone.localdate()
        )
    except ValueError:
        day = timezone.localdate()
    if not SCHEDULE_YEARS[0] <= day.year <= SCHEDULE_YEARS[1]:
        day = timezone.localdate()  # a calendar at year 9999 would step past the last date Python knows
    if view == "week":
        first = day - datetime.timedelta(days=day.weekday())
        days = [first + datetime.timedelta(days=n) for n in range(7)]
        previous, following = first - datetime.timedelta(days=7), first + datetime.timedelta(days=7)
    else:
        first = day.replace(day=1)
        count = calendar.monthrange(first.year, first.month)[1]
        days = [first + datetime.timedelta(days=n) for n in range(count)]
        previous = (first - datetime.timedelta(days=1)).replace(day=1)
        following = first + datetime.timedelta(days=count)
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(days[0], datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(days[-1] + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    found = Deployment.objects.restrict(request.user, "view").filter(start__lt=end, end__gt=start).order_by("start")
    by_day = {
        d: [x for x in found if timezone.localtime(x.start).date() <= d <= timezone.localtime(x.end).date()]
        for d in days
    }
    context = {
        "view": view,
        "days": by_day.items(),
        "blanks": range(days[0].weekday()),  # a month's first week starts on Monday: the days before the 1st, blank
        "weekdays": [calendar.day_abbr[n] for n in range(7)],
        "previous": previous,
        "following": following,
        "today": day,
    }
    return render(request, "deployments/schedule.html", context)


# --- The registers: vans and cameras, policy documents (issue 23) ----------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def asset_register(request):
    """Vans and cameras: each one's bookings and whether it is retired; a commander registers and retires them."""
    policy.require(request.user, "deployments.view_asset")
    may_add = policy.may(request.user, "deployments.add_asset")
    form = AssetForm(request.POST or None)
    register = partial(services.register_asset, request.user)
    if added(request, form, "deployments.add_asset", register, success=lambda asset: f"{asset} registered."):
        return redirect("deployments:assets")
    now = timezone.now()
    assets = Asset.objects.restrict(request.user, "view").order_by("-active", "kind", "identifier")
    booked = Deployment.objects.restrict(request.user, "view").filter(state__in=BOOKING_STATES, end__gt=now)
    bookings = {}
    for deployment in booked.order_by("start").prefetch_related("assets"):
        for asset in deployment.assets.all():
            bookings.setdefault(asset.pk, []).append(deployment)
    context = {
        "rows": [(asset, bookings.get(asset.pk, [])) for asset in assets],
        "form": form,
        "may_add": may_add,
        "may_retire": policy.may(request.user, "deployments.retire_asset"),
        "may_see_credentials": policy.may(request.user, "matching.view_cameracredential"),
        "retire_form": RetireForm(),
    }
    return render(request, "deployments/assets.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def asset_retire(request, pk):
    """Retire a van or camera, with the reason (the same service as the API)."""
    act_with_reason(
        request,
        "deployments.retire_asset",
        Asset.objects.all(),
        pk,
        RetireForm,
        lambda asset, reason: services.retire_asset(request.user, asset, reason=reason),
        success=lambda asset: f"{asset} retired.",
    )
    return redirect("deployments:assets")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def document_register(request):
    """Every version of the DPIA, EIA and appropriate policy document: approved or not, due for review, and the
    deployments that rely on each; a new version is recorded here and approved by another authorising officer."""
    policy.require(request.user, "deployments.view_policydocument")
    form = DocumentForm(request.POST or None)
    record = partial(services.record_document, request.user)
    recorded_message = "{} recorded: another authorising officer approves it.".format
    if added(request, form, "deployments.add_policydocument", record, success=recorded_message):
        return redirect("deployments:documents")
    register = services.document_register(timezone.localdate())
    context = {
        "register": [
            (standing, policy.refusal(request.user, "deployments.approve_policydocument", standing.document))
            for standing in register
        ],
        "due": [standing for standing in register if standing.status in ("due", "overdue")],
        "notice_days": DOCUMENT_REVIEW_NOTICE_DAYS,
        "form": form,
        "may_add": policy.may(request.user, "deployments.add_policydocument"),
        "may_approve": policy.may(request.user, "deployments.approve_policydocument"),
    }
    return render(request, "deployments/documents.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def document_approve(request, pk):
    """Approve a document version: an authorising officer who did not record it."""
    policy.require(request.user, "deployments.approve_policydocument")  # before the lookup, as above
    document = visible_or_404(request.user, PolicyDocument.objects.all(), pk)
    perform(request, lambda: services.approve_document(request.user, document), success=f"{document} approved.")
    return redirect("deployments:documents")
