"""Disclosures pages."""

from django.urls import path

from . import views

app_name = "disclosures"
urlpatterns = [
    path("", views.case_list, name="cases"),
    path("new/", views.case_open, name="open"),
    path("statistics/", views.statistics_page, name="statistics"),
    path("from-alert/<int:alert_pk>/", views.open_from_alert, name="open-from-alert"),
    path("<int:pk>/", views.case_detail, name="case"),
    path("<int:pk>/forum/", views.forum, name="forum"),
    path("<int:pk>/disclosure/", views.disclosure, name="disclosure"),
    path("<int:pk>/letter/", views.letter, name="letter"),
    path("<int:pk>/<slug:act>/", views.case_act, name="act"),
]
