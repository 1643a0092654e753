from django.urls import re_path

from tandem.crm.api.urls import V as API
from tandem.crm.bulk import views

# Before the REST API's URLs, whose last pattern answers anything else under a version.
V = rf"{API}/jobs"
J = r"(?P<job_id>[A-Za-z0-9]{1,40})"
urlpatterns = [
    re_path(rf"{V}/ingest/?$", views.ingest_jobs_view),
    re_path(rf"{V}/ingest/{J}/?$", views.ingest_job_view),
    re_path(rf"{V}/ingest/{J}/batches/?$", views.ingest_batches_view),
    re_path(rf"{V}/ingest/{J}/successfulResults/?$", views.ingest_successful_view),
    re_path(rf"{V}/ingest/{J}/failedResults/?$", views.ingest_failed_view),
    re_path(rf"{V}/ingest/{J}/unprocessedrecords/?$", views.ingest_unprocessed_view),
    re_path(rf"{V}/query/?$", views.query_jobs_view),
    re_path(rf"{V}/query/{J}/?$", views.query_job_view),
    re_path(rf"{V}/query/{J}/results/?$", views.query_results_view),
]
