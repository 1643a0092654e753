"""Email Studio > Admin > Salesforce Integration > Synchronized Data Sources."""

from django.urls import path

from tandem.engagement.syncs import views

app_name = "engagement_syncs"

urlpatterns = [
    path("", views.index, name="index"),
    path("filtered/", views.filtered, name="filtered"),
    path("<str:object_name>/setup/", views.setup, name="setup"),
    path("<str:object_name>/run/", views.run, name="run"),
    path("<str:object_name>/pause/", views.pause, name="pause"),
    path("<str:object_name>/remove/", views.remove, name="remove"),
]
