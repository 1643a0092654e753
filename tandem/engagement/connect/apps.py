from django.apps import AppConfig


class ConnectConfig(AppConfig):
    name = "tandem.engagement.connect"
    label = "engagement_connect"
    verbose_name = "Marketing Cloud Connect"
