"""The requests desk's API routes."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("requests", views.RequestViewSet)

urlpatterns = router.urls
