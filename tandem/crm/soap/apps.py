from django.apps import AppConfig


class SoapConfig(AppConfig):
    name = "tandem.crm.soap"
    label = "crm_soap"
    verbose_name = "CRM SOAP login"
