"""Tracking pages (/email/tracking/) and the public tracking endpoints (/t/)."""

from django.urls import path

from tandem.engagement.sends import tracking_views, views

app_name = "engagement_tracking"

urlpatterns = [
    path("", views.tracking_list, name="list"),
]

public_urlpatterns = [
    path("<str:token>/o.gif", tracking_views.open_pixel, name="tracking_open"),
    path("<str:token>/c/<int:link>", tracking_views.click, name="tracking_click"),
    path("<str:token>/u", tracking_views.unsubscribe, name="tracking_unsubscribe"),
]
