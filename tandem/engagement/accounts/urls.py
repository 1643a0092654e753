"""Login, logout and Admin pages (Admin lives under Email Studio)."""

from django.urls import path

from tandem.engagement.accounts import views

app_name = "engagement_accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("email/admin/", views.admin_settings, name="admin_settings"),
    path("email/admin/users/", views.admin_users, name="admin_users"),
    path("email/admin/users/<int:user_id>/role/", views.admin_user_role, name="admin_user_role"),
    path("email/admin/audit/", views.admin_audit, name="admin_audit"),
    # Salesforce Integration (Connect) mounts its pages at email/admin/salesforce-integration/
    # from its own URLconf; add its entry to templates/engagement/admin/menu.html.
]
