"""Matching pages."""

from django.urls import path

from . import views

app_name = "matching"
urlpatterns = [
    path("deployments/<int:pk>/alerts/", views.alert_queue, name="alerts"),
    path("deployments/<int:pk>/alerts/counts/", views.alert_counts, name="alert-counts"),
    path("alerts/<int:pk>/<str:which>.jpg", views.alert_image, name="alert-image"),
    path("alerts/<int:pk>/<slug:act>/", views.alert_act, name="alert-act"),
    path("figures/", views.figures_page, name="figures"),
    path("searches/", views.searches, name="searches"),
    path("searches/<int:pk>/", views.search, name="search"),
    path("searches/<int:pk>/review/", views.search_review, name="search-review"),
    path("searches/<int:pk>/close/", views.search_close, name="search-close"),
    path("assets/<int:pk>/credentials/", views.asset_credentials, name="credentials"),
    path("credentials/<int:pk>/revoke/", views.credential_revoke, name="credential-revoke"),
    path("watchlists/<int:pk>/reenrol/", views.watchlist_reenrol, name="reenrol"),
]
