"""Email Studio URLs (mounted at /email/)."""

from django.urls import path

from tandem.engagement.studio import views

app_name = "engagement_studio"

urlpatterns = [
    path("", views.studio_home, name="home"),
]
