"""Watchlist pages."""

from django.urls import path

from . import views

app_name = "watchlists"
urlpatterns = [
    path("", views.watchlist_list, name="list"),
    path("new/", views.watchlist_create, name="create"),
    path("<int:pk>/", views.watchlist_detail, name="detail"),
    path("<int:pk>/entries/add/", views.entry_add, name="entry-add"),
    path("<int:pk>/submit/", views.watchlist_submit, name="submit"),
    path("<int:pk>/review/", views.watchlist_review, name="review"),
    path("<int:pk>/ratify/", views.watchlist_ratify, name="ratify"),
    path("<int:pk>/history/", views.watchlist_history, name="history"),
    path("entries/<int:pk>/", views.entry_change, name="entry-change"),
    path("entries/<int:pk>/remove/", views.entry_remove, name="entry-remove"),
    path("images/<int:pk>/", views.image_content, name="image"),
    path("images/<int:pk>/erase/", views.image_erase, name="image-erase"),
    path("subjects/", views.subject_search, name="subjects"),
    path("subjects/new/", views.subject_create, name="subject-create"),
    path("subjects/<int:pk>/", views.subject_change, name="subject-change"),
    path("subjects/<int:pk>/erase/", views.subject_erase, name="subject-erase"),
    path("subjects/<int:pk>/images/new/", views.image_upload, name="image-upload"),
]
