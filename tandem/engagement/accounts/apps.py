from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tandem.engagement.accounts"
    label = "engagement_accounts"
    verbose_name = "Engagement accounts"
