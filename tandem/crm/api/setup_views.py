"""Setup → API Usage: the last 7 days per connected app and per user, as charts."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tandem.crm.api.chart import stacked_by_day
from tandem.crm.api.metering import api_usage_daily, api_usage_used
from tandem.crm.setup.access import setup_actor, setup_required

DAYS = 7


@setup_required
def api_usage(request: HttpRequest) -> HttpResponse:
    """Calls per day by app and by user, and the org's rolling 24-hour use of its allocation."""
    org = setup_actor(request).org
    today = timezone.now().date()
    days = [today - dt.timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    return render(
        request,
        "crm/api/usage.html",
        {
            "by_app": stacked_by_day(api_usage_daily(org=org, by="app", days=DAYS), days),
            "by_user": stacked_by_day(api_usage_daily(org=org, by="user", days=DAYS), days),
            "used": api_usage_used(org=org),
            "limit": org.api_daily_limit,
        },
    )
