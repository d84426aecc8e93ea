"""Officers' pages: a deployment's alerts, each judged by a human before anything is done on it."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.audit.access import MIN_REASON_LENGTH, reason_from, reason_required, remembered_reason, valid_reason
from apps.deployments.models import Asset, Deployment
from apps.watchlists.models import Subject, Watchlist
from govern import policy, tables
from govern.errors import Conflict, TooLarge, TooMany
from govern.pages import act_with_reason, confirmed, form_errors, perform, visible_or_404

from . import figures, selectors
from .choices import AlertState, IdentityCheck, Outcome, SearchState
from .filtersets import AlertFilterSet, SearchFilterSet, pending_first
from .models import Alert, CameraCredential, Probe, SearchRequest
from .panels import render_alert_panels
from .permissions import deployments_with_visible_alerts
from .services import alert_handling, camera_credentials, enrolment, retrospective
from .tables import AlertTable, SearchTable


def _deployment(request, pk):
    """A deployment whose alerts the user sees: an officer's own team's (another deployment is not there: 404)."""
    if not policy.may(request.user, "matching.view_alert"):
        raise PermissionDenied("Your role does not see alerts.")
    return visible_or_404(request.user, Deployment.objects.filter(deployments_with_visible_alerts(request.user)), pk)


def _person_fields() -> list[tuple[str, str, list]]:
    """The perceived-person selects: (field name, label, choices)."""
    labels = {"perceived_sex": "Sex (perceived)", "perceived_age": "Age (perceived)"}
    labels["perceived_ethnicity"] = "Ethnic group (perceived)"
    return [(name, labels[name], choices.choices) for name, choices in alert_handling.PERCEIVED.items()]


@login_required
@require_safe
@reason_required(_deployment)
def alert_queue(request, pk, target, reason):
    """A deployment's alerts, pending first then the newest, filtered, sorted and paged (or as CSV, logged as a
    consultation of every alert exported): the probe beside the watchlist image, the score, the judgement."""
    deployment = target
    filterset = AlertFilterSet(request.GET, queryset=Alert.objects.none())
    if not filterset.is_valid():
        context = {"deployment": deployment, "filterset": filterset, "filter_error": tables.filter_errors(filterset)}
        return render(request, "matching/alerts_refused.html", context, status=400)
    export = tables.wants_csv(request)
    table = AlertTable(Alert.objects.none())

    def take(found):
        nonlocal table
        table = AlertTable(pending_first(filterset.filter_queryset(found.select_related("adjudicated_by"))))
        return tables.every_record(request, table) if export else tables.show(request, table)

    alerts = selectors.alerts(
        request.user,
        reason,
        deployment=deployment.pk,
        state=filterset.form.cleaned_data.get("state") or "",
        take=take,
        export="csv" if export else "",
    )
    if export:
        return tables.csv_response(table, f"alerts-{deployment.reference}", alerts)
    for alert in alerts:
        alert.panels = render_alert_panels(request, alert)  # what the apps above add (e.g. a Sarah's Law case)
    context = {
        "deployment": deployment,
        "alerts": alerts,
        "table": table,
        "filterset": filterset,
        "reason": reason,
        "outcomes": Outcome.recordable(),
        "max_stop_minutes": alert_handling.MAX_STOP_MINUTES,
        "IdentityCheck": IdentityCheck,
        "person_fields": _person_fields(),
        "AlertState": AlertState,
        "may_judge": policy.may(request.user, "matching.adjudicate_alert"),
        "may_export_court": policy.may(request.user, "oversight.export_court_evidence"),
        **_queue_figures(request.user, deployment, since=max((alert.pk for alert in alerts), default=0)),
    }
    return render(request, "matching/alerts.html", context)


@login_required
@require_safe
def alert_counts(request, pk):
    """The queue's figures and how many alerts came after `since` (the newest the page shows), for htmx to poll.

    Numbers only, no face and no name: not a consultation. Seeing the new alerts is one, on the queue itself.
    """
    deployment = _deployment(request, pk)
    try:
        since = max(0, int(request.GET.get("since", "0")))
        announced = max(0, int(request.GET.get("announced", "0")))
    except ValueError:
        return HttpResponse("since and announced must be numbers.", status=400, content_type="text/plain")
    figures = _queue_figures(request.user, deployment, since)
    context = {"deployment": deployment, **figures, "polled": True, "announced": announced}
    return render(request, "matching/alert_counts.html", context)


def _queue_figures(user, deployment, since: int) -> dict:
    """What matching/alert_counts.html shows, on the queue and when polled: the ledger, the alerts pending judgement
    and those newer than `since` that this user may see."""
    visible = Alert.objects.restrict(user, "view").filter(deployment=deployment)
    return {
        "counts": alert_handling.reconciliation(deployment),
        "since": since,
        "pending": visible.filter(state=AlertState.PENDING).count(),
        "new": visible.filter(pk__gt=since).count(),
    }


def _image_response(content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="image/jpeg")
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_safe
def alert_image(request, pk, which):
    """The probe crop or the matched watchlist image of an alert, with the reason from the page; logged."""
    alert = visible_or_404(request.user, Alert.objects.all(), pk)
    # The reason given for the alert queue this image is shown on (kept in the session), or one sent with it.
    reason = reason_from(request) or remembered_reason(request, alert.deployment)
    if not valid_reason(reason):
        return HttpResponse(
            f"A reason is required to see this image: {MIN_REASON_LENGTH} to 2,000 characters on one line.",
            status=400, content_type="text/plain",
        )  # fmt: skip
    if which == "probe":
        if alert.probe_deleted_at is not None:
            return HttpResponse("Deleted under the retention policy.", status=410, content_type="text/plain")
        return _image_response(selectors.probe_image(request.user, alert, reason))
    if alert.entry is None:
        return HttpResponse("The watchlist entry no longer exists.", status=404, content_type="text/plain")
    return _image_response(selectors.watchlist_image(request.user, alert, reason))


@login_required
@require_POST
def alert_act(request, pk, act):
    """Judge, engage, or record the outcome: the same services as the API."""
    alert, user, post = (
        visible_or_404(request.user, Alert.objects.all(), pk),
        request.user,
        request.POST,
    )
    person = {name: post[name] for name in alert_handling.PERCEIVED if post.get(name)}
    actions = {
        "judge": lambda: alert_handling.adjudicate(
            user, alert, match=post.get("match") == "yes", reason=post.get("reason", ""), **person
        ),
        "engage": lambda: alert_handling.engage(user, alert, **person),
        "outcome": lambda: alert_handling.record_alert_outcome(
            user,
            alert,
            outcome=post.get("outcome", ""),
            identity_check=post.get("identity_check", ""),
            stop_minutes=_minutes(post.get("stop_minutes", "")),
            note=post.get("note", ""),
            complaint_reference=post.get("complaint_reference", ""),
            **person,
        ),
        "complaint": lambda: alert_handling.record_complaint(
            user, alert, complaint_reference=post.get("complaint_reference", "")
        ),
    }
    if act not in actions:
        raise Http404("No such action.")
    if act == "judge" and post.get("match") not in ("yes", "no"):
        # Nothing is preselected: no choice is no judgement (read as "no", it would record a false alert).
        messages.error(request, f"Alert {alert.pk}: choose a true match or a false alert.")
        return redirect("matching:alerts", pk=alert.deployment_id)
    if act == "judge" and not confirmed(request):
        confirm = _judgement_confirmation(request, alert, person)
        if confirm is not None:
            return render(request, "matching/judge_confirm.html", {"alert": alert, "confirm": confirm})
    perform(request, actions[act], success=f"Alert {alert.pk}: recorded.")
    return redirect("matching:alerts", pk=alert.deployment_id)


def _judgement_confirmation(request, alert, person: dict) -> dict | None:
    """What the judgement will do, said before it is done; None (judge now, and be refused by the service) when the
    officer may not judge this alert, it is judged already, or the form lacks what the judgement needs."""
    post = request.POST
    reason, match = post.get("reason", "").strip(), post.get("match", "")
    if match not in ("yes", "no") or len(reason) < 5 or not reason.isprintable() or alert.state != AlertState.PENDING:
        return None
    if not policy.may(request.user, "matching.adjudicate_alert", alert):
        return None
    if match == "yes":
        title = f"Judge alert {alert.pk} a true match"
        what = [
            "The officers may then speak to the person: the engagement and the stop are recorded next.",
            "A true match is not an identification: identity is still checked at the stop.",
        ]
    else:
        title = f"Judge alert {alert.pk} a false alert"
        what = ["Nobody is stopped on it; it counts as a false alert in the deployment's figures."]
    what.append(f"Your reason, recorded in the audit log under your name: \u201c{reason}\u201d.")
    fields = [("match", match), ("reason", reason), *person.items()]
    back = reverse("matching:alerts", args=[alert.deployment_id])
    return {"title": title, "what": what, "fields": fields, "button": "Confirm the judgement", "back": back}


def _minutes(text: str) -> int:
    """A stop's length as typed: whole minutes, else the service's own refusal."""
    text = text.strip()
    if not text.isdigit() or not text.isascii() or len(text) > len(str(alert_handling.MAX_STOP_MINUTES)):
        raise ValidationError({"stop_minutes": "How long the stop lasted, in whole minutes."})
    return int(text)


def engine_banner(request):
    """Every page says which engine runs, and warns while it is uncalibrated (facenet without real weights)."""
    return {"engine_uncalibrated": settings.FACE_UNCALIBRATED, "face_engine": settings.FACE_ENGINE}


# --- Retrospective search pages -------------------------------------------------------------------------------------


class SearchForm(forms.Form):
    """A new retrospective search."""

    incident_reference = forms.CharField(max_length=100)
    crime_type = forms.CharField(max_length=100)
    sharing_agreement = forms.CharField(max_length=100, required=False, help_text="Retail partners: the DSA reference.")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def searches(request):
    """The user's searches (a retail partner's own only), filtered, sorted and paged (or as CSV), and a form for a
    new one."""
    policy.require(request.user, "matching.view_searchrequest")
    form = SearchForm(request.POST or None)
    allowance = retrospective.partner_allowance(request.user)
    if (
        allowance is not None
    ):  # a partner's agreement is required, as the service requires it: marked so, checked at once
        form.fields["sharing_agreement"].required = True
        form.fields["sharing_agreement"].label = "Data-sharing agreement reference"
        form.fields["sharing_agreement"].help_text = "As it appears on your agreement with the force."
    refused_with = 200
    if request.method == "POST" and form.is_valid():
        stills = [upload.read() for upload in request.FILES.getlist("stills")]
        try:
            search = retrospective.submit(request.user, stills, **form.cleaned_data)
        except ValidationError as exc:
            form_errors(form, exc)
        except policy.RoleRefused:
            raise  # a role that may never submit (a privacy officer) gets a 403, as on every page
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except (TooLarge, TooMany) as exc:
            form.add_error(None, str(exc))
            refused_with = 413 if isinstance(exc, TooLarge) else 429
        else:
            messages.success(request, f"{search.reference} submitted: {search.total} still(s).")
            return redirect("matching:search", pk=search.pk)
    filterset = SearchFilterSet(
        request.GET,
        queryset=SearchRequest.objects.restrict(request.user, "view")
        .select_related("submitted_by")
        .with_stills_refused(),
    )
    valid = filterset.is_valid()
    table = SearchTable(filterset.qs if valid else SearchRequest.objects.none())
    table.reviewer = policy.may(request.user, "matching.view_probe")
    if not table.reviewer:  # the filter names the states as the table shows them to this reader
        filterset.form.fields["state"].choices = [
            (value, SearchRequest(state=value).status_for(reviewer=False) if value else label)
            for value, label in filterset.form.fields["state"].choices
        ]
    if valid and request.method != "POST" and tables.wants_csv(request):
        return tables.csv_response(table, "searches", tables.every_record(request, table))
    tables.show(request, table)
    context = {
        "table": table,
        "filterset": filterset,
        "filter_error": "" if valid else tables.filter_errors(filterset),
        "form": form,
        "may_submit": policy.may(request.user, "matching.add_searchrequest"),
        "allowance": allowance,
    }
    return render(request, "matching/searches.html", context, status=refused_with if valid else 400)


@login_required
@require_safe
def search(request, pk):
    """A search's status and progress: everything a retail partner may see."""
    found = visible_or_404(request.user, SearchRequest.objects.all(), pk)
    may_review = policy.may(request.user, "matching.view_probe")
    context = {
        "search": found,
        "status": found.status_for(may_review),
        "close_form": CloseSearchForm(),
        "may_close": found.state != SearchState.CLOSED
        and policy.may(request.user, "matching.close_searchrequest", found),
        "refused": found.probes.exclude(refusal=""),  # still refused after closure, when it shows as deleted
        "may_review": may_review,
        "running": found.state in ("queued", "running"),
    }
    return render(request, "matching/search.html", context)


def _reviewable(request, pk):
    if not policy.may(request.user, "matching.view_probe"):
        raise PermissionDenied("Candidates are for trained police operators only.")
    if request.method == "POST":  # a choice or a confirmation: refused before the read is logged, as nothing is shown
        policy.require(request.user, "matching.review_probe")
    return get_object_or_404(SearchRequest.objects.restrict(request.user, "view"), pk=pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@reason_required(_reviewable)
def search_review(request, pk, target, reason):
    """The candidates of each still for the operator, and the investigating officer's confirmation."""
    if request.method == "POST":
        probe_id = request.POST.get("probe", "")
        if not probe_id.isdigit() or len(probe_id) > 18:
            raise Http404("No such still in this search.")
        probe = get_object_or_404(Probe, pk=int(probe_id), request=target)
        if request.POST.get("step") == "choose":
            subject = request.POST.get("subject", "")
            perform(
                request,
                lambda: retrospective.choose(
                    request.user,
                    probe,
                    subject_id=int(subject) if subject.isdigit() else None,
                    note=request.POST.get("note", ""),
                ),
                "Choice recorded.",
            )
        else:
            perform(
                request,
                lambda: retrospective.confirm(request.user, probe, corroboration=request.POST.get("corroboration", "")),
                "Identification confirmed.",
            )
        return redirect(request.path)  # the reason is remembered for this search: never in the address
    stills = selectors.candidates(request.user, target, reason)
    subjects = {s.pk: s for s in Subject.objects.filter(pk__in={c["subject"] for p in stills for c in p.candidates})}
    probes = [(probe, [(c, subjects.get(c["subject"])) for c in probe.candidates]) for probe in stills]
    return render(request, "matching/review.html", {"search": target, "probes": probes, "reason": reason})


class PeriodForm(forms.Form):
    """Which deployments the figures count: those that started from one day to another (either end open)."""

    start = forms.DateField(required=False, label="Started on or after", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="Started on or before", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError("The end of the period must not be before its start.")
        return data


@login_required
@require_safe
def figures_page(request):
    """The commander's figures: faces, alerts, false alerts and deletion receipts of the deployments they see, per
    deployment and per month, drawn and tabled from the records (never typed), for a period of starts."""
    policy.require(request.user, "matching.view_figures")
    form = PeriodForm(request.GET or None)
    chosen = Deployment.objects.restrict(request.user, "view")
    status = 200
    if form.is_bound and not form.is_valid():
        chosen, status = chosen.none(), 400
    elif form.is_bound:
        if form.cleaned_data.get("start"):
            chosen = chosen.filter(start__date__gte=form.cleaned_data["start"])
        if form.cleaned_data.get("end"):
            chosen = chosen.filter(start__date__lte=form.cleaned_data["end"])
    empty = "to a deployment that started in this period" if form.is_bound else "to any deployment yet"
    context = {
        "form": form,
        "by_deployment": figures.charts_of(
            figures.only_with_records(figures.by_deployment(chosen)),
            name="deployments",
            caption="By deployment",
            empty=empty,
        ),
        "by_month": figures.charts_of(figures.by_month(chosen), name="months", caption="By month", empty=empty),
    }
    return render(request, "matching/figures.html", context, status=status)


# --- Closing a search; camera credentials (issue 23) -----------------------------------------------------------------


class CloseSearchForm(forms.Form):
    """Why a search is closed (its stills are deleted, each with a receipt)."""

    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Why is the search closed?"
    )


@login_required
@require_POST
def search_close(request, pk):
    """Close a search from its page, with the reason: the same service as the API's close action."""
    act_with_reason(
        request,
        "matching.close_searchrequest",
        SearchRequest.objects.all(),
        pk,
        CloseSearchForm,
        lambda search, reason: retrospective.close(request.user, search, reason=reason),
        success=lambda search: f"{search.reference} closed: its stills are deleted.",
    )
    return redirect("matching:search", pk=pk)


class RevokeCredentialForm(forms.Form):
    """Why a camera credential is revoked."""

    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def asset_credentials(request, pk):
    """A van's or camera's credentials (who issued each, when, revoked or not; never a secret), and a button that
    issues a new one: its secret is shown in this one answer, never stored, never shown again."""
    policy.require(request.user, "matching.view_cameracredential")
    if request.method == "POST":
        policy.require(request.user, "matching.add_cameracredential")  # before the lookup, as above
    asset = visible_or_404(request.user, Asset.objects.all(), pk)
    secret = None
    if request.method == "POST":
        policy.require(request.user, "matching.add_cameracredential")
        try:
            replacing = request.POST.get("replacing", "")
            secret = camera_credentials.issue_credential(request.user, asset, replacing=replacing)
        except Conflict as exc:
            messages.error(request, str(exc))
            return redirect("matching:credentials", pk=pk)
        asset.refresh_from_db()
    context = {
        "asset": asset,
        "credentials": camera_credentials.credentials_of(request.user, asset).order_by("-issued_at", "-id"),
        "secret": secret,
        "in_force": camera_credentials.in_force(asset),
        "may_issue": policy.may(request.user, "matching.add_cameracredential") and asset.active,
        "may_revoke": policy.may(request.user, "matching.revoke_cameracredential"),
        "revoke_form": RevokeCredentialForm(),
    }
    return render(request, "matching/credentials.html", context)


@login_required
@require_POST
def credential_revoke(request, pk):
    """Revoke one camera credential, with the reason."""
    credential = act_with_reason(
        request,
        "matching.revoke_cameracredential",
        CameraCredential.objects.select_related("asset"),
        pk,
        RevokeCredentialForm,
        lambda credential, reason: camera_credentials.revoke_credential(request.user, credential, reason=reason),
        success=lambda credential: f"Credential {credential.key_id} revoked.",
    )
    return redirect("matching:credentials", pk=credential.asset_id)


class ReenrolForm(forms.Form):
    """Why an approved list is enrolled again on the engine in use."""

    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


@login_required
@require_POST
def watchlist_reenrol(request, pk):
    """Enrol the list's approved version on the engine in use, from its stored images, with the reason (from the
    list's page or the deployment's), and go back to the page it was asked from."""
    act_with_reason(
        request,
        "matching.reenrol_watchlist",
        Watchlist.objects.all(),
        pk,
        ReenrolForm,
        lambda watchlist, reason: enrolment.reenrol(request.user, watchlist, reason=reason),
        success=lambda watchlist: f"{watchlist.reference} is enrolled on the engine in use.",
    )
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("watchlists:list")
