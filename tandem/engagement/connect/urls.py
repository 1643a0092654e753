"""Email Studio > Admin > Salesforce Integration."""

from django.urls import path

from tandem.engagement.connect import views

app_name = "engagement_connect"

urlpatterns = [
    path("", views.index, name="index"),
    path("connect-legacy/", views.connect_legacy, name="connect_legacy"),
    path("users/", views.map_user, name="map_user"),
    path("upgrade/", views.upgrade, name="upgrade"),
    path("upgrade/acknowledge/", views.acknowledge, name="acknowledge"),
    path("callback/", views.callback, name="callback"),
    path("connect-me/", views.user_connect, name="user_connect"),
    path("upgrade/accept-user/", views.accept_user, name="accept_user"),
    path("upgrade/connect/", views.complete, name="complete"),
    path("migrate/", views.migrate, name="migrate"),
    path("migrate/<int:run_id>/progress/", views.migrate_progress, name="migrate_progress"),
    path("outage/", views.outage, name="outage"),
    path("options/", views.options, name="options"),
    path("test-email/", views.test_email, name="test_email"),
    path("preflight/", views.preflight, name="preflight"),
    path("rollback/", views.rollback, name="rollback"),
    path("erase-legacy/", views.erase_legacy, name="erase_legacy"),
]
