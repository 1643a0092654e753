from django.urls import path

from tandem.crm.bulk import setup_views

app_name = "crm_bulk_setup"
urlpatterns = [path("bulk-data-load-jobs/", setup_views.bulk_jobs, name="jobs")]
