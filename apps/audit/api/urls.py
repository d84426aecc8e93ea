"""Audit log API routes."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("events", views.EventViewSet)
router.register("checkpoints", views.CheckpointViewSet)

urlpatterns = [
    path("consistency/", views.ConsistencyProofView.as_view(), name="audit-consistency"),
    path("public-key/", views.PublicKeyView.as_view(), name="audit-public-key"),
    *router.urls,
]
