"""Public pages, under /public/: named `public-*` (no namespace), as the completed deployments' page always was."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="public"),
    path("deployments/", views.completed_deployments, name="public-deployments"),
    path("deployments/<slug:reference>/", views.deployment_report, name="public-report"),
    path("method/", views.method, name="public-method"),
]
