"""Oversight pages."""

from django.urls import path

from . import views

app_name = "oversight"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("deployments/<int:pk>/", views.deployment, name="deployment"),
    path("deployments/<int:pk>/bundle.zip", views.deployment_bundle, name="deployment-bundle"),
    path("bundle.zip", views.range_bundle, name="range-bundle"),
    path("alerts/<int:pk>/court-export.zip", views.court_export, name="court-export"),
    path("verify_bundle.py", views.verifier_file, name="verifier"),
    path("notes.py", views.verifier_notes_file, name="verifier-notes"),
    path("retention/", views.retention, name="retention"),
    path("retention/sweep/", views.sweep, name="sweep"),
    path("retention/review/", views.retention_review, name="retention_review"),
    path("governance/", views.governance, name="governance"),
    path("governance/<int:pk>/evidence/", views.evidence, name="evidence"),
    path("governance/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("governance/<int:pk>/<slug:act>/", views.decide, name="decide"),
    path("equality/", views.equality_page, name="equality"),
    path("misidentifications/", views.misidentifications_page, name="misidentifications"),
    path("access/", views.access_log, name="access"),
]
