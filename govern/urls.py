"""Govern's URLs: pages, the REST API under /api/, its schema and docs, and the admin site."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.accounts import views as account_views
from apps.audit import public as public_log
from govern import inbox
from govern import search as site_search
from govern.middleware import csp_override


def not_found(request, exception):
    """404: JSON under /api/ (a client parses it), the page otherwise."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


handler404 = "govern.urls.not_found"


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
    path("rights/", include("apps.rights.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's start-up script comes from the same view (?script), not inline; its page keeps a <style> block and
    # its widgets set inline styles, so this one view allows inline styles (never inline scripts).
    path(
        "docs/",
        csp_override(style_src="'self' 'unsafe-inline'")(
            SpectacularSwaggerSplitView.as_view(url_name="schema", http_method_names=["get", "head"])
        ),
        name="swagger-ui",
    ),
]

urlpatterns = [
    path("", inbox.home, name="home"),
    path("search/", site_search.search_page, name="search"),
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/login/two-factor/", account_views.two_factor_verify, name="two-factor-verify"),
    path("accounts/login/two-factor/enrol/", account_views.two_factor_enrol, name="two-factor-enrol"),
    path("audit/", include("apps.audit.urls")),
    path("watchlists/", include("apps.watchlists.urls")),
    path("deployments/", include("apps.deployments.urls")),
    path("matching/", include("apps.matching.urls")),
    path("disclosures/", include("apps.disclosures.urls")),
    path("oversight/", include("apps.oversight.urls")),
    path("rights/", include("apps.rights.urls")),
    path("public/", include("apps.public.urls")),
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    # The audit log for monitors and witnesses (c2sp.org/tlog-tiles), at the paths the spec names, without an account.
    path("checkpoint", public_log.checkpoint, name="log-checkpoint"),
    path("tile/<path:path>", public_log.tile, name="log-tile"),
]
