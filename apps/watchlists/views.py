"""Pages for compilers (build a list, search subjects, add entries) and commanders (queue, review, decide).

Every page that shows personal data asks for the reason first (DPA 2018 s.62) and logs the consultation; every
button calls the same service the API calls, so a refused action is refused here for the same reason.
"""

import time
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.audit.access import (
    MIN_REASON_LENGTH,
    REMEMBER_SECONDS,
    reason_from,
    reason_required,
    remembered_reason,
    valid_reason,
)
from apps.audit.models import Event
from govern import policy, tables
from govern.errors import Conflict, PreconditionFailed
from govern.pages import confirmed, form_errors, perform, posted_revision, visible_or_404

from . import selectors
from .choices import ApprovalRoute, Category, ReviewState, WatchlistState
from .enrolments import enrolment_of
from .filtersets import WatchlistFilterSet
from .forms import (
    CommentForm,
    DecisionForm,
    EntryChangeForm,
    EntryForm,
    EntryRemoveForm,
    ErasureForm,
    ImageForm,
    SubjectChangeForm,
    SubjectForm,
    WatchlistForm,
)
from .models import CustodyImage, Entry, Review, Subject, Watchlist
from .panels import render_review_panels
from .services import custody, erasure, watchlists
from .tables import SubjectTable, WatchlistTable


def _visible_watchlist(request, pk) -> Watchlist:
    return visible_or_404(request.user, Watchlist.objects.all(), pk)


def _visible_subject(request, pk) -> Subject:
    return visible_or_404(request.user, Subject.objects.all(), pk)


def _first(count: int):
    """What a page shows of a search: the first `count` found."""
    return lambda found: found[:count]


def _acting(view):
    """Turn a service's Conflict or PermissionDenied on a POST into a message and a way back."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Conflict as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except PermissionDenied as exc:
            if request.method != "POST" or isinstance(exc, policy.RoleRefused):
                raise  # a role that may never do this gets a 403, not a message
            messages.error(request, str(exc) or "You may not do this.")
        return redirect(request.META.get("HTTP_REFERER") or reverse("watchlists:list"))

    return wrapper


@login_required
@require_safe
def watchlist_list(request):
    """The lists the user may see, sorted, filtered and paged (or as CSV); for a commander, the approval queue
    first. Purged lists only when their state is asked for."""
    if not policy.may(request.user, "watchlists.view_watchlist"):
        raise PermissionDenied("Your role does not work with watchlists.")
    visible = Watchlist.objects.restrict(request.user, "view").select_related("compiled_by")
    filterset = WatchlistFilterSet(
        request.GET, queryset=visible if "state" in request.GET else visible.exclude(state=WatchlistState.PURGED)
    )
    listing = tables.Listing(request, filterset, WatchlistTable)
    if export := listing.export("watchlists"):
        return export
    queue = (
        visible.filter(state=WatchlistState.SUBMITTED)
        if policy.may(request.user, "watchlists.approve_watchlist_urgently")
        else Watchlist.objects.none()
    )
    ratification = visible.filter(
        state=WatchlistState.APPROVED, approval_route=ApprovalRoute.URGENT, ratified_at__isnull=True
    )
    context = listing.page(
        queue=queue,
        ratification=ratification if policy.may(request.user, "watchlists.approve_watchlist_urgently") else [],
        may_compile=policy.may(request.user, "watchlists.add_watchlist"),
    )
    return render(request, "watchlists/list.html", context, status=listing.status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def watchlist_create(request):
    """A compiler starts a draft."""
    policy.require(request.user, "watchlists.add_watchlist")
    form = WatchlistForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            watchlist = watchlists.create_watchlist(request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{watchlist.reference} created as a draft.")
            return redirect("watchlists:detail", pk=watchlist.pk)
    return render(request, "watchlists/create.html", {"form": form})


def _watchlist_target(request, pk):
    return _visible_watchlist(request, pk)


@login_required
@require_safe
@reason_required(_watchlist_target)
def watchlist_detail(request, pk, target, reason):
    """A list's entries (personal data, so after a reason), its state and the actions open to the user."""
    watchlist = target
    entries = selectors.watchlist_entries(request.user, watchlist, reason)
    review = Review.objects.filter(watchlist=watchlist).order_by("-version", "-id").first()
    context = {
        "watchlist": watchlist,
        "entries": [(entry, custody.image_is_stale(entry.image)) for entry in entries],
        "review": review,
        "reason": reason,
        "may_edit": policy.may(request.user, "watchlists.change_watchlist", watchlist)
        and watchlist.state not in (WatchlistState.EXPIRED, WatchlistState.PURGED),
        "may_decide": watchlist.state == WatchlistState.SUBMITTED
        and policy.may(request.user, "watchlists.approve_watchlist_urgently"),
        "may_ratify": watchlist.state == WatchlistState.APPROVED
        and watchlist.approval_route == ApprovalRoute.URGENT
        and watchlist.ratified_at is None
        and policy.may(request.user, "watchlists.ratify_watchlist", watchlist),
        "in_force": watchlists.in_force(watchlist),
        "enrolment": enrolment_of(watchlist, watchlist.approved_hash),
        "may_reenrol": policy.may(request.user, "matching.reenrol_watchlist", watchlist),
    }
    return render(request, "watchlists/detail.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@_acting
def entry_add(request, pk):
    """Search the gallery, pick a subject and image, and say why they belong on the list."""
    watchlist = _visible_watchlist(request, pk)
    policy.require(request.user, "watchlists.change_watchlist", watchlist)
    subjects = Subject.objects.restrict(request.user, "view").prefetch_related("images")
    query = request.GET.get("q", "").strip()
    found = []
    if len(query) >= 2:
        found = selectors.search_subjects(
            request.user, {"q": query}, f"Compiling {watchlist.reference}", take=_first(20)
        )
    form = EntryForm(request.POST or None, subjects=subjects)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        image = CustodyImage.objects.restrict(request.user, "view").filter(pk=data.pop("image")).first()
        if image is None:
            form.add_error(None, "Choose one of the subject's images.")
        else:
            try:
                watchlists.add_entry(
                    request.user,
                    watchlist,
                    image=image,
                    expected_revision=posted_revision(request),
                    **data,
                )
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, f"{data['subject']} added to {watchlist.reference}.")
                return redirect("watchlists:detail", pk=watchlist.pk)
    context = {"watchlist": watchlist, "form": form, "query": query, "found": found}
    return render(request, "watchlists/entry_add.html", context)


@login_required
@require_POST
@_acting
def watchlist_submit(request, pk):
    """Send the current version for approval."""
    watchlist = _visible_watchlist(request, pk)
    try:
        watchlists.submit(request.user, watchlist, expected_revision=posted_revision(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{watchlist.reference} submitted for approval.")
    return redirect("watchlists:detail", pk=pk)


def _review_target(request, pk):
    """The list under review, for the roles that see approval decisions (the review shows who is on it)."""
    policy.require(request.user, "watchlists.view_review")
    return _visible_watchlist(request, pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@reason_required(_review_target)
def watchlist_review(request, pk, target, reason):
    """The commander's review: the frozen version, what changed since the last approval, and the decision. The
    review is read (and the read logged) only when it is shown: a decision that succeeds goes back to the list."""
    watchlist = target
    review = watchlists.open_review(watchlist)
    if review is None:
        messages.info(request, f"{watchlist.reference} is not awaiting a decision.")
        return redirect("watchlists:detail", pk=pk)
    form = DecisionForm(request.POST or None, initial={"content_hash": review.content_hash})
    confirm = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if confirmed(request):
            try:
                if data["decision"] == "approve":
                    watchlists.approve(
                        request.user,
                        watchlist,
                        content_hash=data["content_hash"],
                        route=data["route"],
                        reason=data["comment"],
                        comment=data["comment"],
                    )
                    messages.success(request, f"{watchlist.reference} approved.")
                else:
                    watchlists.return_for_changes(request.user, watchlist, comment=data["comment"])
                    messages.success(request, f"{watchlist.reference} returned for changes.")
                return redirect("watchlists:detail", pk=pk)
            except ValidationError as exc:
                form_errors(form, exc)
            except (PermissionDenied, Conflict) as exc:
                form.add_error(None, str(exc))
        else:
            confirm = _decision_confirmation(watchlist, review, data)
    review = selectors.review(request.user, review, reason)
    labels = dict(Category.choices)
    entries = [
        {**entry, "category_label": labels.get(entry["category"], entry["category"])}
        for entry in review.snapshot["entries"]
    ]
    context = {
        "watchlist": watchlist,
        "review": review,
        "entries": entries,
        "changes": watchlists.changes_since_approval(watchlist, review.snapshot),
        "panels": render_review_panels(request, watchlist, review),  # what the apps above add (the forecast)
        "form": form,
        "confirm": confirm,
        "reason": reason,
        "may_decide": policy.may(request.user, "watchlists.approve_watchlist_urgently", watchlist)
        or policy.may(request.user, "watchlists.return_watchlist", watchlist),
        "refusal": policy.refusal(request.user, "watchlists.approve_watchlist", watchlist),
    }
    return render(request, "watchlists/review.html", context)


def _decision_confirmation(watchlist, review, data) -> dict:
    """What the decision will do, said before it is done; the confirmation re-posts the hash reviewed."""
    version = f"{watchlist.reference} version {review.version} (content hash {review.content_hash[:12]}…)"
    fields = [(name, data[name]) for name in ("content_hash", "decision", "route", "comment")]
    if data["decision"] == "return":
        return {
            "title": f"Return {version} for changes",
            "what": [
                "It goes back to its compiler as returned, with your comment; no deployment may use it.",
                "Once changed, it comes back to this queue as a new version.",
            ],
            "fields": fields,
            "button": "Confirm: return for changes",
            "warning": True,
        }
    what = [
        f"It comes into force for its period, {timezone.localtime(watchlist.intended_start):%Y-%m-%d %H:%M} to "
        f"{timezone.localtime(watchlist.intended_end):%Y-%m-%d %H:%M}, and a deployment may be authorised with it.",
        "Your approval is bound to this exact content: any later change needs a new approval.",
    ]
    if data["route"] == ApprovalRoute.URGENT:
        what.append(
            f"By the urgent route it lapses unless an officer of the full rank ratifies it within "
            f"{settings.URGENT_RATIFICATION_HOURS} hours (an officer of the full rank needs no ratification)."
        )
    return {"title": f"Approve {version}", "what": what, "fields": fields, "button": "Confirm: approve"}


@login_required
@require_POST
@_acting
def watchlist_ratify(request, pk):
    """Ratify an urgent approval."""
    watchlist = _visible_watchlist(request, pk)
    form = CommentForm(request.POST)
    form.is_valid()
    watchlists.ratify(request.user, watchlist, comment=form.cleaned_data.get("comment", ""))
    messages.success(request, f"The urgent approval of {watchlist.reference} is ratified.")
    return redirect("watchlists:detail", pk=pk)


@login_required
@require_safe
def watchlist_history(request, pk):
    """Versions, decisions and every logged event about this list."""
    watchlist = _visible_watchlist(request, pk)
    context = {
        "watchlist": watchlist,
        "reviews": Review.objects.restrict(request.user, "view")
        .filter(watchlist=watchlist)
        .select_related("submitted_by", "decided_by"),
        "changes": watchlist.history.select_related("history_user").order_by("history_date")[:500],
        # The log itself only for those the audit policy lets read it (privacy officers, oversight).
        "events": Event.objects.restrict(request.user, "view")
        .filter(target_type="watchlists.watchlist", target_id=str(watchlist.pk))
        .order_by("seq"),
        "ReviewState": ReviewState,
    }
    return render(request, "watchlists/history.html", context)


def _image_target(request, pk):
    return visible_or_404(request.user, CustodyImage.objects.all(), pk)


def _reason_of_the_list_showing(request, image) -> str:
    """The reason given for the watchlist page that shows this image (`?watchlist=`), kept in the session."""
    listed = request.GET.get("watchlist", "")
    if not listed.isdigit() or len(listed) > 18:
        return ""
    watchlist = Watchlist.objects.restrict(request.user, "view").filter(pk=int(listed), entries__image=image).first()
    return remembered_reason(request, watchlist) if watchlist is not None else ""


@login_required
@require_safe
def image_content(request, pk):
    """An image's bytes; the reason comes from the page that shows it (or is asked for), and is logged."""
    image = _image_target(request, pk)
    reason = reason_from(request) or _reason_of_the_list_showing(request, image)
    if not valid_reason(reason):
        return HttpResponse(
            "A reason is required to see this image: 5 to 2,000 characters on one line.",
            status=400, content_type="text/plain",
        )  # fmt: skip
    content = selectors.image_content(request.user, image, reason)
    response = HttpResponse(content, content_type=image.content_type)
    response["Cache-Control"] = "no-store"
    return response


SUBJECT_SEARCH = "subject-search"  # the session's copy of the last search, which the table's pages and CSV continue
_CONTINUED = ("page", "sort", tables.EXPORT)


def _remembered_search(request) -> tuple[str, str]:
    """The name or PNC ID and the reason of the user's last subject search, for REMEMBER_SECONDS: a page, a sort or
    an export of it is asked by address, where neither may travel."""
    saved = request.session.get(SUBJECT_SEARCH) or {}
    if saved.get("until", 0) < time.time():
        return "", ""
    return saved.get("q", ""), saved.get("reason", "")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def subject_search(request):
    """Find a subject by name or PNC ID (each page of finds, and an export of them, is logged with its reason). The
    form POSTs: a reason (and a name searched for) never travels in the address; the search is kept in the session
    so the table's pages, sorting and CSV export (by GET) continue it."""
    policy.require(request.user, "watchlists.view_subject")
    if request.method == "POST":
        query, reason = request.POST.get("q", "").strip(), reason_from(request)
    elif any(name in request.GET for name in _CONTINUED):
        query, reason = _remembered_search(request)
    else:
        query, reason = "", ""
    export = request.method != "POST" and tables.wants_csv(request)
    may_create = policy.may(request.user, "watchlists.add_subject")
    table, error = SubjectTable(Subject.objects.none(), may_add_image=may_create), ""

    def take(found):
        nonlocal table
        table = SubjectTable(found, may_add_image=may_create)
        return tables.every_record(request, table) if export else tables.show(request, table)

    if query and len(reason) >= MIN_REASON_LENGTH:
        try:
            found = selectors.search_subjects(
                request.user, {"q": query}, reason, take=take, export="csv" if export else ""
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            request.session[SUBJECT_SEARCH] = {"q": query, "reason": reason, "until": time.time() + REMEMBER_SECONDS}
            if export:
                return tables.csv_response(table, "subjects", found)
    elif export:
        return HttpResponse(
            "Search first: the export is of the last search, which has expired or was never made.",
            status=400, content_type="text/plain",
        )  # fmt: skip
    context = {
        "error": error,
        "query": query,
        "reason": reason,
        "table": table,
        "searched": bool(query),
        "may_create": may_create,
    }
    return render(request, "watchlists/subjects.html", context, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def subject_create(request):
    """Record a new subject, then upload their image."""
    policy.require(request.user, "watchlists.add_subject")
    form = SubjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subject = custody.create_subject(request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, f"{subject} recorded. Now upload an image.")
            return redirect("watchlists:image-upload", pk=subject.pk)
    return render(request, "watchlists/subject_create.html", {"form": form})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def image_upload(request, pk):
    """Upload a custody image for a subject."""
    policy.require(request.user, "watchlists.add_custodyimage")
    subject = _visible_subject(request, pk)
    form = ImageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            custody.upload_image(request.user, subject, data.pop("image").read(), **data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, f"Image added to {subject}.")
            return redirect(f"{reverse('watchlists:subjects')}?q={subject.pnc_id or subject.family_name}")
    return render(request, "watchlists/image_upload.html", {"form": form, "subject": subject})


# --- Changing a list's entries and a subject's details (issue 23) ----------------------------------------------------


def _editable_entry(request, pk) -> Entry:
    """An entry the user sees (another compiler's draft is not there for them), on a list they may change."""
    policy.require(request.user, "watchlists.change_watchlist")  # the role, before the lookup, then the list
    entry = visible_or_404(request.user, Entry.objects.select_related("watchlist", "subject", "image"), pk)
    policy.require(request.user, "watchlists.change_watchlist", entry.watchlist)
    return entry


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@reason_required(_editable_entry)
def entry_change(request, pk, target, reason):
    """Change one entry of a list (the image, the category, its detail, the justification) at the revision shown; on
    a submitted or approved list the change starts a new version, which needs approval again."""
    entry = target
    images = CustodyImage.objects.restrict(request.user, "view").filter(subject=entry.subject_id)
    initial = {field: getattr(entry, field) for field in watchlists.ENTRY_FIELDS}
    form = EntryChangeForm(request.POST or None, images=images, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changes = {field: form.cleaned_data[field] for field in form.changed_data}
            try:
                watchlists.update_entry(request.user, entry, expected_revision=posted_revision(request), **changes)
            except ValidationError as exc:
                form_errors(form, exc)
            except (Conflict, PermissionDenied) as exc:
                if isinstance(exc, policy.RoleRefused):
                    raise
                form.add_error(None, str(exc))
                status = 412 if isinstance(exc, PreconditionFailed) else 409
            else:
                messages.success(request, f"{entry.subject}'s entry on {entry.watchlist.reference} changed.")
                return redirect("watchlists:detail", pk=entry.watchlist_id)
        status = status if status != 200 else 400
    entry = selectors.entry(request.user, entry, reason)  # what the page shows is logged, with the reason
    entry.watchlist.refresh_from_db()
    context = {"entry": entry, "form": form, "remove_form": EntryRemoveForm(), "reason": reason}
    return render(request, "watchlists/entry_change.html", context, status=status)


@login_required
@require_POST
@_acting
def entry_remove(request, pk):
    """Take a person off a list, saying why, at the revision shown (the same service as the API's DELETE)."""
    entry = _editable_entry(request, pk)
    form = EntryRemoveForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    watchlists.remove_entry(request.user, entry, reason=reason, expected_revision=posted_revision(request))
    messages.success(request, f"{entry.subject} taken off {entry.watchlist.reference}.")
    return redirect("watchlists:detail", pk=entry.watchlist_id)


def _changeable_subject(request, pk) -> Subject:
    policy.require(request.user, "watchlists.change_subject")
    return _visible_subject(request, pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@reason_required(_changeable_subject)
def subject_change(request, pk, target, reason):
    """Correct a subject's details, saying why; the history keeps every earlier state, and lists submitted or
    approved with the old details start a new version."""
    form = SubjectChangeForm(request.POST or None, instance=Subject.objects.get(pk=target.pk))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            changes = {field: data[field] for field in form.changed_data if field in custody.SUBJECT_FIELDS}
            try:
                custody.update_subject(request.user, target, reason=data["change_reason"], **changes)
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, f"{target}'s details corrected.")
                return redirect("watchlists:subject-change", pk=target.pk)
        status = 400
    subject = selectors.subject(request.user, target, reason)
    context = {
        "subject": subject,
        "form": form,
        "reason": reason,
        "history": subject.history.order_by("-history_date")[:20],
    }
    return render(request, "watchlists/subject_change.html", context, status=status)


def _erase(request, pk: int, what: str, rule: str, service, held, entries):
    """The erasure page of a subject or image: what will go, and the reason; the service does it (privacy officers
    only: anyone else is refused before anything is read). Nothing personal is shown: the ids, the counts, the lists."""
    policy.require(request.user, rule)
    if not held.exists():
        raise Http404(f"No {what.lower()} is held under number {pk}: erased already, or never recorded.")
    form = ErasureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = perform(
            request,
            lambda: service(request.user, pk, reason=form.cleaned_data["reason"]),
            f"{what} {pk} erased, with every copy; the receipts are in the audit log.",
        )
        if done:
            return redirect("watchlists:list")
    context = {
        "what": what,
        "pk": pk,
        "form": form,
        "images": CustodyImage.objects.filter(subject_id=pk).count() if what == "Subject" else 1,
        "lists": Watchlist.objects.filter(entries__in=entries).distinct().order_by("reference"),
    }
    return render(request, "watchlists/erase.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def subject_erase(request, pk):
    """Erase a subject and every copy of their data (DPA 2018 s.47), with the reason."""
    held, entries = Subject.objects.filter(pk=pk), Entry.objects.filter(subject_id=pk)
    return _erase(request, pk, "Subject", "watchlists.erase_subject", erasure.delete_subject, held, entries)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def image_erase(request, pk):
    """Erase one custody image and its copies, with the reason."""
    held, entries = CustodyImage.objects.filter(pk=pk), Entry.objects.filter(image_id=pk)
    return _erase(request, pk, "Image", "watchlists.erase_custodyimage", erasure.delete_custody_image, held, entries)
