"""Email Studio URLs (mounted at /email/)."""

from django.urls import path

from tandem.engagement.studio import views

app_name = "engagement_studio"

urlpatterns = [
    path("", views.studio_home, name="home"),
    path("content/emails/", views.email_list, name="email_list"),
    path("content/emails/new/", views.email_edit, name="email_create"),
    path("content/emails/<int:email_id>/", views.email_edit, name="email_edit"),
    path("content/emails/<int:email_id>/preview/", views.email_preview, name="email_preview"),
]
