from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "tandem.engagement"
    label = "engagement"
    verbose_name = "Engagement"
