from django.urls import re_path

from tandem.crm.soap import views

urlpatterns = [
    # Every path under /services/Soap/ gets a SOAP answer (a fault for what is not served).
    re_path(
        r"^services/Soap/(?P<kind>[^/]+)/(?P<version>[^/]*)(?:/(?P<org_id>[^/]*))?/?$",
        views.soap_view,
        name="soap",
    ),
]
