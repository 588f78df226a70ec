from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lottery.core"
    label = "core"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.urls import register_converter

        from . import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from .converters import DatabaseIdConverter

        register_converter(DatabaseIdConverter, "dbid")
