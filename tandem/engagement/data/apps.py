from django.apps import AppConfig


class DataConfig(AppConfig):
    name = "tandem.engagement.data"
    label = "engagement_data"
    verbose_name = "Data extensions"
