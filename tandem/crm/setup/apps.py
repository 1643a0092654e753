from django.apps import AppConfig


class SetupConfig(AppConfig):
    name = "tandem.crm.setup"
    label = "crm_setup"
    verbose_name = "CRM Setup"

    def ready(self) -> None:
        from tandem.crm.setup.menu import register

        register("Setup Audit Trail", "crm_setup:audit_trail", "Security")
