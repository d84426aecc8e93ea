"""Watchlists API routes."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("subjects", views.SubjectViewSet)
router.register("images", views.CustodyImageViewSet)
router.register("watchlists", views.WatchlistViewSet)
router.register("entries", views.EntryViewSet)

urlpatterns = router.urls
