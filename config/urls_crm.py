"""URLs of the CRM service."""

from django.urls import include, path

from tandem.core.health import healthz
from tandem.crm import views

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", views.home, name="home"),
    path("", include("tandem.crm.users.urls")),
    path("setup/", include("tandem.crm.setup.urls")),
    path("setup/", include("tandem.crm.orgs.urls")),
    path("setup/permission-sets/", include("tandem.crm.permissions.urls")),
    path("", include("tandem.crm.oauth.urls")),
    path("setup/connected-apps/", include("tandem.crm.connectedapps.urls")),
    path("settings/connected-apps/", include("tandem.crm.connectedapps.urls_personal")),
    path("", include("tandem.crm.bulk.urls")),
    path("", include("tandem.crm.api.urls")),
    path("", include("tandem.crm.soap.urls")),
    path("records/", include("tandem.crm.records.urls")),
    path("setup/", include("tandem.crm.api.setup_urls")),
    path("setup/", include("tandem.crm.bulk.setup_urls")),
]
