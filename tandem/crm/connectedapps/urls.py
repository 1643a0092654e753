from django.urls import path

from tandem.crm.connectedapps import views

app_name = "crm_connectedapps"
urlpatterns = [
    path("", views.app_list, name="app_list"),
    path("new/", views.app_new, name="app_new"),
    path("usage/", views.usage, name="usage"),
    path("usage/revoke/", views.usage_revoke, name="usage_revoke"),
    path("<str:app_id>/", views.app_detail, name="app_detail"),
    path("<str:app_id>/edit/", views.policy_edit, name="policy_edit"),
    path("<str:app_id>/settings/", views.app_edit, name="app_edit"),
    path("<str:app_id>/secret/", views.secret_rotate, name="secret_rotate"),
    path("<str:app_id>/permission-sets/", views.manage_permission_sets, name="permission_sets"),
    path("<str:app_id>/profiles/", views.manage_profiles, name="profiles"),
    path("<str:app_id>/ip-ranges/new/", views.ip_range_new, name="ip_range_new"),
    path(
        "<str:app_id>/ip-ranges/<int:range_id>/delete/",
        views.ip_range_delete,
        name="ip_range_delete",
    ),
]
