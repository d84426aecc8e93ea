"""Disclosures API routes."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("cases", views.CaseViewSet)

urlpatterns = [path("statistics/", views.StatisticsView.as_view(), name="disclosures-statistics"), *router.urls]
