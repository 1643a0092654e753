"""Top-level CRM pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The CRM landing page."""
    return render(request, "crm/home.html")
