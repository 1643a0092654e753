from django.apps import AppConfig


class PermissionsConfig(AppConfig):
    name = "tandem.crm.permissions"
    label = "crm_permissions"
    verbose_name = "CRM permission sets"

    def ready(self) -> None:
        from tandem.crm.setup.menu import register

        register("Permission Sets", "crm_permissions:permission_set_list", "Users")
