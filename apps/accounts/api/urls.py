"""Accounts API routes."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("users", views.UserViewSet)
router.register("tokens", views.ApiTokenViewSet)

urlpatterns = [
    path("me/", views.MeView.as_view(), name="accounts-me"),
    path("token/", views.TokenView.as_view(), name="accounts-token"),
    *router.urls,
]
