from django.urls import path

from tandem.crm.setup import views

app_name = "crm_setup"
urlpatterns = [
    path("", views.setup_home, name="home"),
    path("audit-trail/", views.audit_trail, name="audit_trail"),
    path("audit-trail.csv", views.audit_trail_csv, name="audit_trail_csv"),
]
