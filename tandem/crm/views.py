"""Top-level CRM pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The CRM landing page: who is logged in, and the way to Setup for administrators."""
    return render(request, "crm/home.html", {"org": getattr(request, "crm_org", None)})
