"""Pages for anyone, without signing in: the completed deployments and their figures. GET and HEAD only; `?format=`
asks for a file instead of the page, and a format a page does not offer is a 400."""

from functools import wraps

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.deployments import publication

from .choices import Format


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


@require_safe
@offers(Format.CSV)
def completed_deployments(request, chosen):
    """Completed deployments and their figures, with yearly totals; CSV with ?format=csv."""
    rows = publication.published_deployments()
    if chosen == Format.CSV:
        return _csv(publication.as_csv(rows), "lfr-deployments.csv")
    return render(request, "public/completed.html", {"rows": rows, "totals": publication.yearly_totals(rows)})
