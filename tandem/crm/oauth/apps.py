from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "tandem.crm.oauth"
    label = "crm_oauth"
    verbose_name = "CRM OAuth 2.0 server"
