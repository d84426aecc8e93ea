"""Matching API routes."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import agent, credentials, views

router = SimpleRouter()
router.register("alerts", views.AlertViewSet)
router.register("captures", views.CaptureViewSet)
router.register("searches", views.SearchViewSet)
router.register("probes", views.ProbeViewSet)
router.register("credentials", credentials.CameraCredentialViewSet)  # camera credentials (issue 23)

urlpatterns = [
    path("capture/", views.CaptureView.as_view(), name="matching-capture"),
    path("capture/crops/", views.CropsView.as_view(), name="matching-capture-crops"),
    path("agent/session/", agent.AgentSessionView.as_view(), name="matching-agent-session"),
    path("agent/status/", agent.AgentStatusView.as_view(), name="matching-agent-status"),
    path("agent/batches/", agent.AgentBatchView.as_view(), name="matching-agent-batches"),
    path("watchlists/<int:pk>/reenrol/", views.ReenrolView.as_view(), name="matching-reenrol"),
    *router.urls,
]
