"""Pages: planning, the commander's authorisation queue, the schedule, a deployment with its gate (the public's
pages are the public app's)."""

import calendar
import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.watchlists.models import Watchlist
from govern import policy
from govern.errors import Conflict
from govern.pages import form_errors, perform, posted_revision, visible_or_404

from . import services
from .choices import DeploymentState
from .forms import ChecklistForm, NoticeForm, PlanForm, ReasonForm, TeamForm, WatchlistForm
from .models import Deployment


def _visible(request, pk) -> Deployment:
    return visible_or_404(request.user, Deployment.objects.select_related("watchlist"), pk)


@login_required
@require_safe
def deployment_list(request):
    """Upcoming and live deployments; for a commander, the authorisation queue first."""
    policy.require(request.user, "deployments.view_deployment")
    visible = Deployment.objects.restrict(request.user, "view").select_related("watchlist")
    now = timezone.now()
    context = {
        "queue": visible.filter(state=DeploymentState.PLANNED, end__gt=now).order_by("start")
        if policy.may(request.user, "deployments.authorise_deployment")
        else [],
        "current": visible.filter(end__gt=now).exclude(state=DeploymentState.CANCELLED).order_by("start"),
        "past": visible.filter(end__lte=now).order_by("-start")[:50],
        "may_plan": policy.may(request.user, "deployments.add_deployment"),
    }
    return render(request, "deployments/list.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def deployment_plan(request):
    """Plan a deployment."""
    policy.require(request.user, "deployments.add_deployment")
    form = PlanForm(request.POST or None, watchlists=_usable_watchlists(request.user))
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
def deployment_detail(request, pk):
    """A deployment, its gate condition by condition, and the actions open to the user."""
    deployment = _visible(request, pk)
    user = request.user
    context = {
        "deployment": deployment,
        "gate": services.gate(deployment),
        "live": services.is_live(deployment),
        "outcome": getattr(deployment, "figures", None),
        "may_authorise": deployment.state == DeploymentState.PLANNED
        and policy.may(user, "deployments.authorise_deployment", deployment),
        "authorise_refusal": policy.refusal(user, "deployments.authorise_deployment", deployment),
        "may_change": policy.may(user, "deployments.change_deployment", deployment)
        and deployment.state in (DeploymentState.PLANNED, DeploymentState.AUTHORISED),
        "may_exempt": policy.may(user, "deployments.exempt_notice", deployment),
        "may_run": policy.may(user, "deployments.run_deployment", deployment),
        "may_command": policy.may(user, "deployments.command_deployment", deployment),
        "may_see_alerts": policy.may(user, "matching.view_deployment_alerts", deployment),
        "may_change_team": policy.may(user, "deployments.change_team", deployment),
        "team": deployment.team.order_by("last_name", "username"),
        "team_form": TeamForm(initial={"team": deployment.team.all()}),
        "watchlist_form": WatchlistForm(
            initial={"watchlist": deployment.watchlist_id}, watchlists=_usable_watchlists(user)
        ),
        "notice_form": NoticeForm(),
        # One form per button, each with its own ids: one `id_reason` three times left two of them unlabelled.
        "reason_forms": {act: ReasonForm(auto_id=f"id_{act}_%s") for act in ("suspend", "exempt", "cancel")},
        "checklist_form": ChecklistForm(
            initial={
                "signage_up": deployment.signage_up,
                "leaflets_available": deployment.leaflets_available,
                "briefing_done": deployment.briefing_done,
            }
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
    }
    if act not in actions:
        raise Http404("No such action.")
    perform(request, actions[act], success=f"{deployment.reference}: done.")
    return redirect("deployments:detail", pk=pk)


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
