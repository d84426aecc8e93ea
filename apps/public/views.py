"""Pages for anyone, without signing in: the deployments announced (with their feed), the completed deployments and
each one's report, and how every figure is derived. GET and HEAD only; `?format=` asks for a file instead of the
page, and a format a page does not offer is a 400."""

from functools import wraps

from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.deployments import publication
from govern.db_router import reads_from_replica

from . import exports, reports
from .choices import FIGURES, Format


def offers(*formats: Format):
    """The view answers in these formats besides the page, as `?format=` asks: it is given the one asked for, and a
    format it does not offer (or an empty one) is refused with a 400 that says which it does."""
    offered = (Format.HTML, *formats)

    def decorate(view):
        @wraps(view)
        def answer(request, *args, **kwargs):
            asked = request.GET.get("format", Format.HTML)
            if asked not in offered:
                names = ", ".join(offered)
                return HttpResponseBadRequest(
                    f"Unknown format: this page is offered as {names} (?format=...).\n",
                    content_type="text/plain; charset=utf-8",
                )
            return view(request, *args, chosen=Format(asked), **kwargs)

        return answer

    return decorate


def _download(content, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv(text: str, filename: str) -> HttpResponse:
    return _download(text, filename, "text/csv; charset=utf-8")


def _method_url(request) -> str:
    return request.build_absolute_uri(reverse("public-method"))


@require_safe
@offers(Format.CSV, Format.JSON, Format.ATOM)
@reads_from_replica
def index(request, chosen):
    """The deployments announced, upcoming and live now, with their feed (CSV, JSON, Atom); links to the rest."""
    notices = reports.notices()
    if chosen == Format.CSV:
        return _csv(exports.csv_text(notices, exports.NOTICE_FIELDS), "lfr-notices.csv")
    if chosen == Format.JSON:
        return JsonResponse(
            {"deployments": exports.records(notices, exports.NOTICE_FIELDS), "method": _method_url(request)}
        )
    if chosen == Format.ATOM:
        page = request.build_absolute_uri(reverse("public"))
        feed = exports.notices_feed(notices, page_url=page, feed_url=f"{page}?format=atom")
        return HttpResponse(feed, content_type="application/atom+xml; charset=utf-8")
    return render(request, "public/index.html", {"notices": notices})


@require_safe
@offers(Format.CSV)
def completed_deployments(request, chosen):
    """Completed deployments and their figures, with yearly totals; CSV with ?format=csv."""
    rows = publication.published_deployments()
    if chosen == Format.CSV:
        return _csv(publication.as_csv(rows), "lfr-deployments.csv")
    return render(request, "public/completed.html", {"rows": rows, "totals": publication.yearly_totals(rows)})


@require_safe
@offers(Format.CSV, Format.JSON)
@reads_from_replica
def deployment_report(request, reference, chosen):
    """A completed deployment's report (CSV or JSON with ?format=); any other deployment has none: 404."""
    report = reports.deployment_report(reference)
    if report is None:
        raise Http404("No completed deployment has this reference.")
    if chosen == Format.CSV:
        return _csv(exports.csv_text([report], exports.REPORT_FIELDS), f"{report['reference']}.csv")
    if chosen == Format.JSON:
        return JsonResponse({**exports.records([report], exports.REPORT_FIELDS)[0], "method": _method_url(request)})
    context = {
        "report": report,
        "figures": [(figure, report[figure.field]) for figure in FIGURES],
        "duration": reports.duration_label(report["duration_minutes"]),
    }
    return render(request, "public/report.html", context)


@require_safe
def method(request):
    """How every published figure is derived, a section (and anchor) each."""
    return render(request, "public/method.html")
