"""Interactions (sends) URLs, mounted at /email/interactions/."""

from django.urls import path

from tandem.engagement.sends import views

app_name = "engagement_sends"

urlpatterns = [
    path("", views.send_list, name="list"),
    path("new/", views.send_new, name="new"),
    path("test/", views.send_test, name="test"),
    path("<int:send_id>/", views.send_detail, name="detail"),
    path("<int:send_id>/progress/", views.send_progress, name="progress"),
    path("<int:send_id>/schedule/", views.send_schedule, name="schedule"),
    path("<int:send_id>/pause/", views.send_pause, name="pause"),
    path("<int:send_id>/resume/", views.send_resume, name="resume"),
    path("<int:send_id>/cancel/", views.send_cancel, name="cancel"),
    path("<int:send_id>/test/", views.send_test_of_send, name="test_of_send"),
]
