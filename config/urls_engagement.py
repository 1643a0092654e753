"""URLs of the Engagement service."""

from django.urls import include, path

from tandem.core.health import healthz
from tandem.engagement import views
from tandem.engagement.sends.tracking_urls import public_urlpatterns as tracking_public

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", views.home, name="home"),
    path("", include("tandem.engagement.accounts.urls")),
    path("email/", include("tandem.engagement.studio.urls")),
    path("email/content/", include("tandem.engagement.content.urls")),
    path("email/subscribers/", include("tandem.engagement.data.urls")),
    path("email/interactions/", include("tandem.engagement.sends.urls")),
    path("email/tracking/", include("tandem.engagement.sends.tracking_urls")),
    path("email/admin/salesforce-integration/sync/", include("tandem.engagement.syncs.urls")),
    path("email/admin/salesforce-integration/", include("tandem.engagement.connect.urls")),
    path("t/", include(tracking_public)),
]
