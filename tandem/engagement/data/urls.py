"""Subscribers URLs (mounted at /email/subscribers/)."""

from django.urls import path

from tandem.engagement.data import views

app_name = "engagement_data"

urlpatterns = [
    path("", views.data_extension_list, name="list"),
    path("new/", views.data_extension_create, name="create"),
    path("<int:data_extension_id>/", views.data_extension_detail, name="detail"),
    path("<int:data_extension_id>/delete/", views.data_extension_delete, name="delete"),
    path("<int:data_extension_id>/fields/", views.field_add, name="field_add"),
    path("<int:data_extension_id>/sendable/", views.sendable_update, name="sendable"),
    path("<int:data_extension_id>/rows/new/", views.row_edit, name="row_create"),
    path("<int:data_extension_id>/rows/<int:row_id>/", views.row_edit, name="row"),
    path("<int:data_extension_id>/rows/<int:row_id>/delete/", views.row_delete, name="row_delete"),
    path("<int:data_extension_id>/import/", views.import_start, name="import_start"),
    path("<int:data_extension_id>/export.csv", views.export, name="export"),
    path("imports/<int:import_id>/", views.import_detail, name="import"),
    path("imports/<int:import_id>/errors.csv", views.import_errors, name="import_errors"),
]
