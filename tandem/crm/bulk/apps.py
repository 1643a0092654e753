from django.apps import AppConfig


class BulkConfig(AppConfig):
    name = "tandem.crm.bulk"
    label = "crm_bulk"
    verbose_name = "CRM Bulk API 2.0"

    def ready(self) -> None:
        from tandem.crm.bulk import (
            signals,  # noqa: F401  (resume unfinished jobs on worker start)
            tasks,  # noqa: F401  (services find the task by name)
        )
        from tandem.crm.setup.menu import register

        register("Bulk Data Load Jobs", "crm_bulk_setup:jobs", "Environments")
