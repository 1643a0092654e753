"""URLs of the CRM service."""

from django.urls import path

from tandem.core.health import healthz
from tandem.crm import views

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", views.home, name="home"),
]
