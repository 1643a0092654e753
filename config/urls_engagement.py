"""URLs of the Engagement service."""

from django.urls import include, path

from tandem.core.health import healthz
from tandem.engagement import views

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", views.home, name="home"),
    path("", include("tandem.engagement.accounts.urls")),
    path("email/", include("tandem.engagement.studio.urls")),
    path("email/content/", include("tandem.engagement.content.urls")),
    path("email/subscribers/", include("tandem.engagement.data.urls")),
]
