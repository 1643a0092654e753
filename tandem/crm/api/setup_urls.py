from django.urls import path

from tandem.crm.api import setup_views

app_name = "crm_api_setup"
urlpatterns = [path("api-usage/", setup_views.api_usage, name="usage")]
