from django.urls import path

from tandem.crm.records import views

app_name = "crm_records"
urlpatterns = [
    path("reports/<str:record_id>/run/", views.report_run_page, name="report_run"),
    path("<slug:slug>/", views.object_list, name="list"),
    path("<slug:slug>/<str:record_id>/", views.object_detail, name="detail"),
]
