from django.apps import AppConfig


class SendsConfig(AppConfig):
    name = "tandem.engagement.sends"
    label = "engagement_sends"
    verbose_name = "Sends"

    def ready(self) -> None:
        # Register the tasks with Celery now: `queue` finds them by name in the registry.
        from tandem.engagement.sends import tasks  # noqa: F401
