"""Oversight API routes."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("retention", views.RetentionViewSet, basename="oversight-retention")
router.register("changes", views.GovernedChangeViewSet, basename="oversight-change")
router.register("notifications", views.NotificationViewSet, basename="oversight-notification")

urlpatterns = [
    path("ledgers/", views.LedgerView.as_view(), name="oversight-ledgers"),
    path("purges/", views.PurgeView.as_view(), name="oversight-purges"),
    path("equality/", views.EqualityView.as_view(), name="oversight-equality"),
    path("access/", views.AccessLogView.as_view(), name="oversight-access"),
    path("deployments/<int:pk>/bundle/", views.BundleView.as_view(), name="oversight-bundle"),
    *router.urls,
]
