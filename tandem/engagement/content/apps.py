"""Content: the account's file library, with a personal My Documents folder per user."""

from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "tandem.engagement.content"
    label = "engagement_content"
    verbose_name = "Engagement content"
