"""Watchlists API routes."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("subjects", views.SubjectViewSet)
router.register("images", views.CustodyImageViewSet)
router.register("watchlists", views.WatchlistViewSet)
router.register("entries", views.EntryViewSet)

urlpatterns = [
    path("erasures/subjects/<int:pk>/", views.SubjectErasureView.as_view(), name="subject-erasure"),
    path("erasures/images/<int:pk>/", views.CustodyImageErasureView.as_view(), name="image-erasure"),
    *router.urls,
]
