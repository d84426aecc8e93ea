"""Deployment pages."""

from django.urls import path

from . import views

app_name = "deployments"
urlpatterns = [
    path("", views.deployment_list, name="list"),
    path("new/", views.deployment_plan, name="plan"),
    path("schedule/", views.schedule, name="schedule"),
    path("<int:pk>/", views.deployment_detail, name="detail"),
    path("<int:pk>/<slug:act>/", views.deployment_act, name="act"),
]
