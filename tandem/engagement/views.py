"""Top-level Engagement pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The Engagement landing page."""
    return render(request, "engagement/home.html")
