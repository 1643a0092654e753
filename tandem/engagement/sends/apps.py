from django.apps import AppConfig


class SendsConfig(AppConfig):
    name = "tandem.engagement.sends"
    label = "engagement_sends"
    verbose_name = "Sends"
