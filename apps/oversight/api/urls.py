"""Oversight API routes."""

from django.urls import path, register_converter
from rest_framework.routers import SimpleRouter

from . import views


class SignedIntegerConverter:
    """Any whole number, so that an id no deployment has (a negative one) gets the API's JSON 404, not Django's page."""

    regex = "-?[0-9]+"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(SignedIntegerConverter, "signed")

router = SimpleRouter()
router.register("retention", views.RetentionViewSet, basename="oversight-retention")
router.register("changes", views.GovernedChangeViewSet, basename="oversight-change")
router.register("notifications", views.NotificationViewSet, basename="oversight-notification")

urlpatterns = [
    path("ledgers/", views.LedgerView.as_view(), name="oversight-ledgers"),
    path("purges/", views.PurgeView.as_view(), name="oversight-purges"),
    path("deletion-evidence/", views.DeletionEvidenceView.as_view(), name="oversight-deletion-evidence"),
    path("equality/", views.EqualityView.as_view(), name="oversight-equality"),
    path("access/", views.AccessLogView.as_view(), name="oversight-access"),
    path("deployments/<signed:pk>/bundle/", views.BundleView.as_view(), name="oversight-bundle"),
    path("alerts/<signed:pk>/court-export/", views.CourtExportView.as_view(), name="oversight-court-export"),
    path("misidentifications/", views.MisidentificationView.as_view(), name="oversight-misidentifications"),
    *router.urls,
]
