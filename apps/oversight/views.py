"""The privacy officer's dashboard and the read-only oversight view: no page here shows a biometric image."""

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.audit import proofs, signing, verifier
from apps.audit.access import forget, reason_required
from apps.audit.models import Checkpoint
from apps.deployments.choices import STOPPABLE_STATES
from apps.deployments.models import Deployment
from apps.matching import evaluation as engine_figures
from apps.matching import figures
from apps.matching import selectors as matching_selectors
from apps.matching.models import Alert
from apps.matching.services import engine_approval, engine_evaluation
from govern import policy, tables
from govern.db_router import reads_from_replica
from govern.errors import Conflict
from govern.pages import form_errors, perform, visible_or_404

from . import access_review, bundles, court, equality, reconciliation, services
from .choices import ChangeKind, ChangeState
from .filtersets import AccessFilterSet
from .forms import DecisionForm, ProposalForm, RangeForm, ReasonForm, RetentionForm, RetentionReviewForm
from .models import GovernedChange, Notification, RetentionPolicy
from .tables import AccessTable, reader_rows


def checkpoint_status() -> dict:
    """The latest checkpoint: its signature, its root against the stored tree, and consistency with the one before."""
    latest = Checkpoint.objects.order_by("-tree_size").first()
    if latest is None:
        return {"checkpoint": None, "ok": False, "problems": ["No checkpoint has been signed yet."]}
    problems = []
    root = bytes(latest.root_hash)
    public_key = signing.public_key_for(latest.key_id)
    if public_key is None:
        problems.append(f"It names a signing key ({latest.key_id}) that is not in the key history.")
    elif not verifier.verify_checkpoint(
        public_key, latest.tree_size, root, latest.timestamp, bytes(latest.signature), latest.origin
    ):
        problems.append("Its signature does not verify with the public key it names.")
    if proofs.root_at(latest.tree_size) != root:
        problems.append("Its root differs from the stored tree's root at that size.")
    previous = Checkpoint.objects.filter(tree_size__lt=latest.tree_size).order_by("-tree_size").first()
    if previous is not None:
        proof = proofs.consistency(previous.tree_size, latest.tree_size)
        if not verifier.verify_consistency(
            previous.tree_size, latest.tree_size, bytes(previous.root_hash), root, proof.proof
        ):
            problems.append(f"It is not consistent with checkpoint {previous.tree_size}.")
    return {"checkpoint": latest, "previous": previous, "ok": not problems, "problems": problems}


@login_required
@require_safe
@reads_from_replica
def dashboard(request):
    """Reconciliation per deployment, purges, retention, checkpoints, and (privacy officers) notifications."""
    policy.require(request.user, "oversight.view_dashboard")
    ledgers = reconciliation.ledgers()
    context = {
        "ledgers": ledgers,
        "by_deployment": figures.charts_of(
            figures.only_with_records(reconciliation.tallies(ledgers)),
            name="deployments",
            caption="Faces, alerts and false alerts by deployment",
            empty="to any deployment yet",
        ),
        "by_month": figures.charts_of(
            figures.by_month(Deployment.objects.all()),
            name="months",
            caption="Faces, alerts and false alerts by month, and their reconciliation",
            empty="in any month yet",
        ),
        "red": sum(1 for ledger in ledgers if not ledger.reconciles),
        "purges": reconciliation.purge_statuses(),
        "evidence": reconciliation.evidence_statuses(),
        "retention": reconciliation.retention_statuses(),
        "checkpoints": checkpoint_status(),
        "notifications": Notification.objects.filter(resolved_at__isnull=True)
        if policy.may(request.user, "oversight.view_notification")
        else None,
        "threshold": services.current_threshold(),
        "may_sweep": policy.may(request.user, "oversight.run_sweep"),
        "range_form": RangeForm(),
    }
    return render(request, "oversight/dashboard.html", context)


@login_required
@require_safe
def deployment(request, pk):
    """One deployment's ledger, hour by hour in a chart and a table, with its evidence bundle."""
    policy.require(request.user, "oversight.view_dashboard")
    found = get_object_or_404(Deployment, pk=pk)
    ledger = reconciliation.ledgers(Deployment.objects.filter(pk=pk))[0]
    by_hour = figures.charts_of(
        figures.by_hour(Deployment.objects.filter(pk=pk)),
        name="hours",
        caption="Hour by hour",
        empty="to this deployment",
    )
    return render(request, "oversight/deployment.html", {"deployment": found, "ledger": ledger, "by_hour": by_hour})


def _zip(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@login_required
@require_safe
def deployment_bundle(request, pk):
    """The deployment's evidence bundle (zip); the export is logged."""
    policy.require(request.user, "oversight.export_bundle")
    scope = bundles.Scope(deployment=get_object_or_404(Deployment, pk=pk))
    try:
        content, _ = bundles.build(request.user, scope)
    except bundles.BundleError as exc:
        messages.error(request, str(exc))
        return redirect("oversight:deployment", pk=pk)
    return _zip(content, scope.filename())


def _court_alert(request, pk):
    """The alert a court export is produced from: a privacy officer's, of an alert they see."""
    policy.require(request.user, "oversight.export_court_evidence")
    return visible_or_404(request.user, Alert.objects.all(), pk)


@login_required
@require_safe
@reason_required(_court_alert)
def court_export(request, pk, target, reason):
    """One alert's court evidence export (zip), produced with the reason given; the export is logged."""
    forget(request, target)  # each export is asked for with its own reason
    try:
        content, _ = court.build(request.user, target, reason)
    except bundles.BundleError as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain")
    return _zip(content, court.filename(target))


@login_required
@require_safe
def range_bundle(request):
    """An evidence bundle for a time range."""
    policy.require(request.user, "oversight.export_bundle")
    form = RangeForm(request.GET or None)
    if not form.is_valid():
        messages.error(request, "Give a start and an end, the end after the start.")
        return redirect("oversight:dashboard")
    scope = bundles.Scope(start=form.cleaned_data["start"], end=form.cleaned_data["end"])
    try:
        content, _ = bundles.build(request.user, scope)
    except bundles.BundleError as exc:
        messages.error(request, str(exc))
        return redirect("oversight:dashboard")
    return _zip(content, scope.filename())


@login_required
@require_safe
def verifier_file(request):
    """The offline verifier, for anyone who checks a bundle or a proof (with notes.py beside it)."""
    policy.require(request.user, "oversight.export_bundle")
    return FileResponse(bundles.VERIFIER.open("rb"), as_attachment=True, filename="verify_bundle.py")


@login_required
@require_safe
def verifier_notes_file(request):
    """The signed-note module the offline verifier loads from beside itself."""
    policy.require(request.user, "oversight.export_bundle")
    return FileResponse(bundles.NOTES.open("rb"), as_attachment=True, filename="notes.py")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def retention(request):
    """Policies per data class, what is past them and held; privacy officers set them and run the sweep."""
    policy.require(request.user, "oversight.view_retentionpolicy")
    may_change = policy.may(request.user, "oversight.change_retentionpolicy")
    form = RetentionForm(request.POST or None) if may_change else None
    if request.method == "POST":
        policy.require(request.user, "oversight.change_retentionpolicy")
        if form.is_valid():
            data = form.cleaned_data
            hours = data["days"] * 24 + (data.get("hours") or 0)
            try:
                services.set_retention(request.user, data["data_class"], hours=hours, reason=data["reason"])
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, "Retention policy set.")
                return redirect("oversight:retention")
    may_review = policy.may(request.user, "oversight.review_retentionpolicy")
    return _retention_page(request, form, RetentionReviewForm() if may_review else None)


def _retention_page(request, form, review_form, status=200):
    context = {
        "statuses": reconciliation.retention_statuses(),
        "policies": RetentionPolicy.objects.select_related("changed_by"),
        "history": RetentionPolicy.history.select_related("changed_by").order_by("-history_date")[:50],
        "form": form,
        "review_form": review_form,
        "may_sweep": policy.may(request.user, "oversight.run_sweep"),
        "preview": services.retention_sweep(dry_run=True) if request.GET.get("preview") else None,
    }
    return render(request, "oversight/retention.html", context, status=status)


@login_required
@require_POST
def retention_review(request):
    """A privacy officer records a review of a class's period and when the next is due."""
    policy.require(request.user, "oversight.review_retentionpolicy")
    review_form = RetentionReviewForm(request.POST)
    if review_form.is_valid():
        data = review_form.cleaned_data
        try:
            services.review_retention(
                request.user, data["data_class"], finding=data["finding"], next_review_on=data["next_review_on"]
            )
        except ValidationError as exc:
            form_errors(review_form, exc)
        else:
            messages.success(request, "Review recorded.")
            return redirect("oversight:retention")
    form = RetentionForm() if policy.may(request.user, "oversight.change_retentionpolicy") else None
    return _retention_page(request, form, review_form, status=400)


@login_required
@require_POST
def sweep(request):
    """Run the retention sweep now (it also runs hourly)."""
    policy.require(request.user, "oversight.run_sweep")
    items = services.retention_sweep()
    deleted = sum(item.count for item in items if item.outcome == "deleted")
    held = sum(item.count for item in items if item.outcome == "held")
    messages.success(request, f"Retention sweep: {deleted} deleted with receipts, {held} kept by evidential holds.")
    return redirect("oversight:retention")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def governance(request):
    """The threshold and engine in force, their versions, and proposals awaiting a countersignature."""
    policy.require(request.user, "oversight.view_governedchange")
    may_propose = policy.may(request.user, "oversight.propose_governedchange")
    name, weights, _ = engine_approval.engine_identity()
    evaluations = list(engine_evaluation.reports_for_engine(name, weights).select_related("run_by"))
    form = ProposalForm(request.POST or None, request.FILES or None, evaluations=evaluations) if may_propose else None
    if request.method == "POST":
        policy.require(request.user, "oversight.propose_governedchange")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.propose(
                    request.user,
                    data["kind"],
                    threshold=data.get("threshold"),
                    reason=data["reason"],
                    equality_evidence=data["equality_evidence"],
                    evaluation=data["evaluation"],
                    evidence=data.get("evidence"),
                )
            except ValidationError as exc:
                form_errors(form, exc)
            except Conflict as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Proposed: a privacy officer must countersign before it is in force.")
                return redirect("oversight:governance")
    changes = GovernedChange.objects.select_related("proposed_by", "decided_by", "evaluation").defer("evidence")
    list_size = services.list_size_to_govern()
    ceiling = settings.EVALUATION_MAX_FALSE_ALERTS_PER_1000
    context = {
        "engine_in_force": (name, weights),
        "evaluations": [
            (report, engine_figures.safe_threshold(report.figures, list_size, float(ceiling))) for report in evaluations
        ]
        if policy.may(request.user, "matching.view_engineevaluation")
        else None,
        "list_size": list_size,
        "ceiling": ceiling,
        "threshold": services.current_threshold(),
        "under_review": sorted(services.thresholds_for_review()),
        "changes": changes,
        "open": changes.filter(state=ChangeState.PROPOSED),
        "form": form,
        "decision_form": DecisionForm(),
        "may_countersign": policy.may(request.user, "oversight.countersign_governedchange"),
        "may_withdraw": policy.may(request.user, "oversight.withdraw_governedchange"),
        # One form a change in force, each with ids of its own (two in force at once, beside the proposal's reason).
        "withdrawals": [
            (change, ReasonForm(auto_id=f"id_withdraw_{change.pk}_%s"))
            for change in changes
            if change.state == ChangeState.IN_FORCE
        ],
        "engine": ChangeKind.ENGINE,
    }
    return render(request, "oversight/governance.html", context)


@login_required
@require_POST
def withdraw(request, pk):
    """Withdraw a threshold or engine in force, with the reason, after a confirmation that names the deployments it
    stops (the same service as the API)."""
    policy.require(request.user, "oversight.withdraw_governedchange")
    change = get_object_or_404(GovernedChange.objects.defer("evidence"), pk=pk)
    reason = request.POST.get("reason", "").strip()
    if reason and request.POST.get("confirmed") != "yes" and change.state == ChangeState.IN_FORCE:
        running = Deployment.objects.filter(state__in=STOPPABLE_STATES)
        if change.kind == ChangeKind.THRESHOLD:
            running = running.filter(threshold=change.threshold)
        names = ", ".join(d.reference for d in running.order_by("start")) or "none runs now"
        confirm = {
            "title": f"Withdraw {change.get_kind_display().lower()} v{change.version} ({change.value_label})",
            "what": [
                f"The deployments that use it stop now, with this withdrawal as their reason: {names}.",
                "Each runs again only once authorised anew"
                + (", on an engine approved again." if change.kind == ChangeKind.ENGINE else "."),
                f"The reason is recorded in the audit log: \u201c{reason}\u201d.",
            ],
            "fields": [("reason", reason)],
            "button": "Confirm: withdraw it and stop those deployments",
            "warning": True,
            "back": reverse("oversight:governance"),
        }
        return render(request, "oversight/confirm_withdraw.html", {"confirm": confirm})
    perform(
        request,
        lambda: services.withdraw(request.user, change, reason=reason),
        "Withdrawn: the deployments that used it are stopped.",
    )
    return redirect("oversight:governance")


@login_required
@require_POST
def decide(request, pk, act):
    """Countersign or reject a proposal."""
    policy.require(request.user, "oversight.countersign_governedchange")
    change = get_object_or_404(GovernedChange.objects.defer("evidence"), pk=pk)
    form = DecisionForm(request.POST)
    note = form.data.get("note", "")
    if act == "countersign":
        perform(request, lambda: services.countersign(request.user, change, note=note), "Countersigned: in force now.")
    elif act == "reject":
        perform(request, lambda: services.reject(request.user, change, note=note), "Rejected.")
    else:
        messages.error(request, "Unknown decision.")
    return redirect("oversight:governance")


@login_required
@require_safe
def evidence(request, pk):
    """A proposal's test report (not biometric data)."""
    change = visible_or_404(request.user, GovernedChange.objects.all(), pk)
    response = HttpResponse(bytes(change.evidence), content_type=change.evidence_content_type)
    response["Content-Disposition"] = content_disposition_header(True, change.evidence_name)  # RFC 6266
    response["X-Content-Type-Options"] = "nosniff"
    return response


MISIDENTIFICATIONS_SHOWN = 200


def _misidentifications(request):
    """The consultation's target; only someone who both oversees and sees alerts (a privacy officer) reviews them."""
    policy.require(request.user, "oversight.review_misidentifications")
    return ("matching.alert", "misidentifications")


@login_required
@require_safe
@reason_required(_misidentifications)
def misidentifications_page(request, target, reason):
    """Alerts found false, newest first: when and how, the person as perceived, the stop record, any complaint."""
    alerts = matching_selectors.misidentifications(
        request.user, reason, take=lambda found: found.order_by("-created_at")[:MISIDENTIFICATIONS_SHOWN]
    )
    context = {"alerts": alerts, "reason": reason, "shown": MISIDENTIFICATIONS_SHOWN}
    return render(request, "oversight/misidentifications.html", context)


@login_required
@require_safe
@reads_from_replica
def equality_page(request):
    """True and false alerts by the person each concerned (as officers perceived them), per engine and threshold and
    per month, with intervals, suppressed small counts and the counts behind every rate."""
    policy.require(request.user, "oversight.view_dashboard")
    dimension = request.GET.get("by", "perceived_ethnicity")
    if dimension not in equality.DIMENSIONS:
        return HttpResponseBadRequest(f"Choose by= one of: {', '.join(equality.DIMENSIONS)}.")
    found = equality.versions()
    charts = [
        {
            "version": version,
            "dimensions": [
                {
                    "name": name,
                    "label": label,
                    "bars": equality.bars(version.groups[name]),
                    "height": 22 * len(version.groups[name]) + 4,
                }
                for name, (label, _choices) in equality.DIMENSIONS.items()
            ],
        }
        for version in found
    ]
    context = {
        "charts": charts,
        "standouts": [standout for version in found for standout in version.standouts],
        "dimension": dimension,
        "dimensions": {name: label for name, (label, _choices) in equality.DIMENSIONS.items()},
        "monthly": equality.monthly(dimension, found=found),
        "small": equality.SMALL,
        "suppress_below": equality.SUPPRESS_BELOW,
        "may_review": policy.may(request.user, "oversight.review_misidentifications"),
    }
    return render(request, "oversight/equality.html", context)


@login_required
@require_safe
def access_log(request):
    """Search consultations and disclosures (a person by name, PNC ID or number); each record named and linked;
    readers compared with their peers on the same duty; sorted and paged with the total; export as CSV or JSON."""
    policy.require(request.user, "oversight.view_accesslog")
    filterset = AccessFilterSet(request.GET or None)
    if request.GET and not filterset.is_valid():
        context = {"filterset": filterset, "filter_error": tables.filter_errors(filterset), "table": None}
        return render(request, "oversight/access.html", context, status=400)
    if filterset.is_bound and filterset.person_words():
        filterset.people = access_review.find_people(request.user, filterset.person_words())
    chosen = filterset.chosen if filterset.is_bound else access_review.AccessFilter()
    fmt = request.GET.get("format") or ("csv" if tables.wants_csv(request) else "")
    if fmt in ("csv", "json"):
        policy.require(request.user, "oversight.export_accesslog")
        count, rows = access_review.exported(chosen)
        services.log_access_export(request.user, chosen, count, fmt)
        if fmt == "json":
            response = HttpResponse(access_review.json_export(rows), content_type="application/json")
        else:  # streamed: the first rows leave before the last are read
            response = StreamingHttpResponse(access_review.csv_export(rows), content_type="text/csv")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="govern-access-log-{stamp}.{fmt}"'
        return response
    compared_from, until = access_review.compared_period(
        chosen.start, chosen.end or timezone.now() + datetime.timedelta(seconds=1)
    )
    readers = access_review.readers(compared_from, until)
    heavy = {reader.actor: reader.reads for reader in readers if reader.heavy}
    filterset.heavy = heavy
    table = AccessTable(access_review.search(chosen, heavy))  # with the canonical JSON: the records' names read it
    events = tables.show(request, table)
    table.rows = {row.event.seq: row for row in access_review.flag(events, chosen, heavy)}
    table.names = access_review.describe(events, request.user)
    context = {
        "filterset": filterset,
        "table": table,
        "people": chosen.people,
        "people_limit": access_review.PEOPLE_LIMIT,
        "readers": readers,
        "reader_rows": reader_rows(readers),
        "compared_from": compared_from,
        "heavy": [reader for reader in readers if reader.heavy],
        "query": request.GET.urlencode(),
    }
    return render(request, "oversight/access.html", context)
