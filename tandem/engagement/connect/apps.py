from django.apps import AppConfig


class ConnectConfig(AppConfig):
    name = "tandem.engagement.connect"
    label = "engagement_connect"
    verbose_name = "Marketing Cloud Connect"

    def ready(self) -> None:
        # Sends ask about CRM audiences through a seam they own; Connect answers it.
        from tandem.engagement.connect.availability import ConnectGate
        from tandem.engagement.sends.crm_gate import crm_gate_register

        crm_gate_register(ConnectGate())
        # Register the tasks with Celery in every process: services queue them by name.
        from tandem.engagement.connect import tasks  # noqa: F401
