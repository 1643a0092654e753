from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "tandem.crm.orgs"
    label = "crm_orgs"
    verbose_name = "CRM orgs"

    def ready(self) -> None:
        from tandem.crm.setup.menu import register

        register("Network Access", "crm_orgs:network_access", "Security")
        register("Session Settings", "crm_orgs:session_settings", "Security")
        register("OAuth and OpenID Connect Settings", "crm_orgs:oauth_settings", "Identity")
