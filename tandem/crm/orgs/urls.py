from django.urls import path

from tandem.crm.orgs import views

app_name = "crm_orgs"
urlpatterns = [
    path("network-access/", views.network_access, name="network_access"),
    path("session-settings/", views.session_settings, name="session_settings"),
    path("oauth-settings/", views.oauth_settings, name="oauth_settings"),
]
