"""Email Studio pages: the overview and the emails."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tandem.engagement.accounts.access import account_member_required


@account_member_required
def studio_home(request: HttpRequest) -> HttpResponse:
    """Email Studio's overview, below the top navigation."""
    return render(request, "engagement/studio/home.html")
