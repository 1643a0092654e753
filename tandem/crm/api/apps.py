from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "tandem.crm.api"
    label = "crm_api"
    verbose_name = "CRM REST API"

    def ready(self) -> None:
        from tandem.crm.setup.menu import register

        register("API Usage", "crm_api_setup:usage", "Platform Tools")
