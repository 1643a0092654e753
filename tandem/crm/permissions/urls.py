from django.urls import path

from tandem.crm.permissions import views

app_name = "crm_permissions"
urlpatterns = [
    path("", views.permission_set_list_view, name="permission_set_list"),
    path("new/", views.permission_set_new, name="permission_set_new"),
    path("<str:id>/", views.permission_set_detail, name="permission_set_detail"),
    path(
        "<str:id>/assignments/",
        views.permission_set_assignments,
        name="permission_set_assignments",
    ),
    path(
        "<str:id>/assignments/add/",
        views.permission_set_add_assignments,
        name="permission_set_add_assignments",
    ),
]
