from django.apps import AppConfig


class ConnectedAppsConfig(AppConfig):
    name = "tandem.crm.connectedapps"
    label = "crm_connectedapps"
    verbose_name = "CRM connected apps"

    def ready(self) -> None:
        from tandem.crm.setup.menu import register

        register("Connected Apps", "crm_connectedapps:app_list", "Apps")
        register("Connected Apps OAuth Usage", "crm_connectedapps:usage", "Apps")
