"""Deployments API routes."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("assets", views.AssetViewSet)
router.register("documents", views.PolicyDocumentViewSet)
router.register("deployments", views.DeploymentViewSet)

urlpatterns = [path("published/", views.PublishedDeploymentsView.as_view(), name="deployments-published"), *router.urls]
