"""Setup → Bulk Data Load Jobs: the org's jobs with their progress."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tandem.crm.bulk.selectors import LIST_LIMIT, jobs_for_setup
from tandem.crm.setup.access import setup_actor, setup_required


@setup_required
def bulk_jobs(request: HttpRequest) -> HttpResponse:
    org = setup_actor(request).org
    return render(
        request, "crm/bulk/jobs.html", {"jobs": jobs_for_setup(org=org), "limit": LIST_LIMIT}
    )
