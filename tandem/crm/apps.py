from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "tandem.crm"
    label = "crm"
    verbose_name = "CRM"
