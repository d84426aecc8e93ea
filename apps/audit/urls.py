"""Audit log pages."""

from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("events/", views.events, name="events"),
    path("checkpoints/", views.checkpoints, name="checkpoints"),
    path("consult/", views.consult, name="consult"),
]
