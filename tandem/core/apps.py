from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tandem.core"
    label = "tandem_core"
    verbose_name = "Tandem core"
