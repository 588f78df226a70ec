from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lottery.core"
    label = "core"
    verbose_name = "Operations"
