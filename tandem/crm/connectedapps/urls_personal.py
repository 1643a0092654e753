"""A user's own connected apps (not Setup): see and revoke your approvals."""

from django.urls import path

from tandem.crm.connectedapps import views

app_name = "crm_my_apps"
urlpatterns = [
    path("", views.my_apps, name="list"),
    path("revoke/", views.my_app_revoke, name="revoke"),
]
