from django.urls import path

from tandem.crm.users import views

app_name = "crm_users"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("setup/users/", views.user_list_view, name="user_list"),
    path("setup/users/new/", views.user_new, name="user_new"),
    path("setup/users/<str:id>/", views.user_detail, name="user_detail"),
    path(
        "setup/users/<str:id>/security-token/",
        views.user_security_token_reset,
        name="user_security_token_reset",
    ),
    path("setup/sessions/<int:id>/end/", views.user_session_end_view, name="user_session_end"),
    path("setup/profiles/", views.profile_list_view, name="profile_list"),
    path("setup/profiles/<str:id>/", views.profile_detail, name="profile_detail"),
    path("setup/login-history/", views.login_history, name="login_history"),
]
