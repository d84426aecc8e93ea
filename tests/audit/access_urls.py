"""A page that consults personal data, for testing the reason decorator: it logs its read as a selector does."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import include, path

from apps.accounts.models import User
from apps.audit import services
from apps.audit.access import reason_required


@reason_required(lambda request, pk: get_object_or_404(User, pk=pk))
def person(request, pk, target, reason):
    services.record_access(target, request.user, reason)  # what the page's selector would do
    return HttpResponse(f"{target.username} consulted because {reason}")


urlpatterns = [path("person/<int:pk>/", person), path("", include("govern.urls"))]
