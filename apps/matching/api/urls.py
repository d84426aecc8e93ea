"""Matching API routes."""

from django.urls import path

from . import views

urlpatterns = [path("capture/", views.CaptureView.as_view(), name="matching-capture")]
