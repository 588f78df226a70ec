from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lottery.core"
    label = "core"
    verbose_name = "Operations"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI auth extension)
