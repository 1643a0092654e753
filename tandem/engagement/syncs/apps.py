from django.apps import AppConfig


class SyncsConfig(AppConfig):
    name = "tandem.engagement.syncs"
    label = "engagement_syncs"
    verbose_name = "Synchronized Data Sources"

    def ready(self) -> None:
        from tandem.engagement.syncs import tasks  # noqa: F401  (registers the periodic chain)
