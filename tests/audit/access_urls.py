"""A page that consults personal data, for testing the consultation decorator."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import include, path

from apps.accounts.models import User
from apps.audit.access import consultation_logged


@consultation_logged(lambda request, pk: get_object_or_404(User, pk=pk))
def person(request, pk, target, reason):
    return HttpResponse(f"{target.username} consulted because {reason}")


urlpatterns = [path("person/<int:pk>/", person), path("", include("govern.urls"))]
