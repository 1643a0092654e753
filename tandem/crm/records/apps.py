from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "tandem.crm.records"
    label = "crm_records"
    verbose_name = "CRM records"
