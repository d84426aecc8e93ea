"""The requests desk's pages."""

from django.urls import path

from . import views

app_name = "rights"
urlpatterns = [
    path("", views.request_list, name="requests"),
    path("new/", views.request_log, name="log"),
    path("<int:pk>/", views.request_detail, name="request"),
    path("<int:pk>/pack/", views.response_pack, name="pack"),
    path("<int:pk>/<slug:act>/", views.request_act, name="act"),
]
