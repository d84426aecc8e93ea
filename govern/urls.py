"""Govern's URLs: pages, the REST API under /api/, its schema and docs, and the admin site."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.accounts import views as account_views
from apps.deployments import views as deployment_views


def healthz(request):
    """Liveness for load balancers: the process answers; no database query."""
    return JsonResponse({"status": "ok"})


api_patterns = [
    path("accounts/", include("apps.accounts.api.urls")),
    path("audit/", include("apps.audit.api.urls")),
    path("watchlists/", include("apps.watchlists.api.urls")),
    path("deployments/", include("apps.deployments.api.urls")),
    path("matching/", include("apps.matching.api.urls")),
    path("disclosures/", include("apps.disclosures.api.urls")),
    path("oversight/", include("apps.oversight.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", include("apps.audit.urls")),
    path("watchlists/", include("apps.watchlists.urls")),
    path("deployments/", include("apps.deployments.urls")),
    path("matching/", include("apps.matching.urls")),
    path("disclosures/", include("apps.disclosures.urls")),
    path("oversight/", include("apps.oversight.urls")),
    path("public/deployments/", deployment_views.public_records, name="public-deployments"),
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
