from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "tandem.crm.api"
    label = "crm_api"
    verbose_name = "CRM REST API"
