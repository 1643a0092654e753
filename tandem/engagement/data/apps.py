from django.apps import AppConfig


class DataConfig(AppConfig):
    name = "tandem.engagement.data"
    label = "engagement_data"
    verbose_name = "Data extensions"

    def ready(self) -> None:
        # Register the tasks with Celery in every process: services queue them by name.
        from tandem.engagement.data import tasks  # noqa: F401
