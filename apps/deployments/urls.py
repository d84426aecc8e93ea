"""Deployment pages."""

from django.urls import path

from . import views

app_name = "deployments"
urlpatterns = [
    path("", views.deployment_list, name="list"),
    path("new/", views.deployment_plan, name="plan"),
    path("new/place/", views.place_nearest, name="place-nearest"),
    path("schedule/", views.schedule, name="schedule"),
    path("stop-all/", views.emergency_stop_all, name="stop-all"),
    path("assets/", views.asset_register, name="assets"),
    path("assets/<int:pk>/retire/", views.asset_retire, name="asset-retire"),
    path("documents/", views.document_register, name="documents"),
    path("documents/<int:pk>/approve/", views.document_approve, name="document-approve"),
    path("<int:pk>/", views.deployment_detail, name="detail"),
    path("<int:pk>/<slug:act>/", views.deployment_act, name="act"),
]
