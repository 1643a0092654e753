from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "tandem.crm.users"
    label = "crm_users"
    verbose_name = "CRM users"

    def ready(self) -> None:
        from tandem.crm.setup.menu import register

        register("Users", "crm_users:user_list", "Users")
        register("Profiles", "crm_users:profile_list", "Users")
        register("Login History", "crm_users:login_history", "Identity")
        register("Session Management", "crm_users:session_management", "Security")
