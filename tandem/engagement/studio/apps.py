from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "tandem.engagement.studio"
    label = "engagement_studio"
    verbose_name = "Email Studio"
