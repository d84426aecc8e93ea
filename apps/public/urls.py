"""Public pages, under /public/: named `public-*` (no namespace), as the completed deployments' page always was."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="public"),
    path("deployments/", views.completed_deployments, name="public-deployments"),
    path("deployments/<slug:reference>/", views.deployment_report, name="public-report"),
    path("annual/", views.annual_years, name="public-annual"),
    path("annual/<int:year>/", views.annual_report, name="public-year"),
    path("annual/<int:year>/foi-pack.zip", views.foi_pack, name="public-foi-pack"),
    path("method/", views.method, name="public-method"),
]
