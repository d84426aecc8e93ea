"""Matching API routes."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import credentials, views

router = SimpleRouter()
router.register("alerts", views.AlertViewSet)
router.register("captures", views.CaptureViewSet)
router.register("searches", views.SearchViewSet)
router.register("probes", views.ProbeViewSet)
router.register("credentials", credentials.CameraCredentialViewSet)  # camera credentials (issue 23)

urlpatterns = [
    path("capture/", views.CaptureView.as_view(), name="matching-capture"),
    path("capture/crops/", views.CropsView.as_view(), name="matching-capture-crops"),
    path("watchlists/<int:pk>/reenrol/", views.ReenrolView.as_view(), name="matching-reenrol"),
    *router.urls,
]
