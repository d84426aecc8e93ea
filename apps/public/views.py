"""Pages for anyone, without signing in: the deployments announced (with their feed), the completed deployments and
each one's report, the annual reports with their FOI pack, and how every figure is derived. GET and HEAD only;
`?format=` asks for a file instead of the page, and a format a page does not offer is a 400."""

from functools import wraps

from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.deployments import publication
from govern.db_router import reads_from_replica

from . import charts, exports, reports
from .choices import FIGURES, Format

BAR = "bar"  # a one-part column's class in govern.css
# The annual report's charts: (its id, its title, its section of the method page, the parts of each month's column).
CHARTS = [
    ("deployments", "Deployments", "deployments", [charts.Series("deployments", "Deployments", BAR)]),
    ("faces", "Faces processed", "faces-processed", [charts.Series("faces_processed", "Faces processed", BAR)]),
    (
        "alerts",
        "Alerts: true, false, and not judged either",
        "alerts",
        [
            charts.Series("true_alerts", "True alerts", "bar-true"),
            charts.Series("false_alerts", "False alerts", "bar-false"),
            charts.Series("unjudged_alerts", "Not judged true or false", "bar-unjudged"),
        ],
    ),
    ("arrests", "Arrests", "arrests", [charts.Series("arrests", "Arrests", BAR)]),
]


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
@reads_from_replica
def annual_years(request):
    """Every year with an annual report, with its totals."""
    return render(request, "public/years.html", {"years": reports.years()})


def _reported_year(year: int) -> dict:
    if not reports.reported(year):
        raise Http404("No annual report for this year: they run from the first completed deployment to this year.")
    return reports.annual(year)


@require_safe
@offers(Format.CSV, Format.JSON)
@reads_from_replica
def annual_report(request, year, chosen):
    """A year's figures by month, with charts drawn on the server, and by place type (CSV of the months, JSON)."""
    report = _reported_year(year)
    if chosen == Format.CSV:
        return _csv(exports.csv_text(exports.months(report), exports.MONTH_FIELDS), f"lfr-{year}-by-month.csv")
    if chosen == Format.JSON:
        return JsonResponse({**exports.annual_record(report), "method": _method_url(request)})
    months = [
        {**month, "unjudged_alerts": max(0, month["alerts"] - month["true_alerts"] - month["false_alerts"])}
        for month in report["months"]
    ]
    drawn = [
        {"id": name, "title": title, "anchor": anchor, **charts.by_month(months, parts)}
        for name, title, anchor, parts in CHARTS
    ]
    return render(request, "public/annual.html", {"report": report, "charts": drawn, "figures": FIGURES})


@require_safe
@reads_from_replica
def foi_pack(request, year):
    """A year's FOI pack: by month, by place type and each deployment, as CSVs in a zip."""
    report = _reported_year(year)
    pack = exports.foi_pack(
        report,
        method_url=_method_url(request),
        report_url=request.build_absolute_uri(reverse("public-year", args=[year])),
    )
    return _download(pack, f"lfr-{year}-foi-pack.zip", "application/zip")


@require_safe
def method(request):
    """How every published figure is derived, a section (and anchor) each."""
    return render(request, "public/method.html")
