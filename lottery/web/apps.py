from django.apps import AppConfig


class WebConfig(AppConfig):
    """Server-rendered pages (docs/api.md): thin views over the same services as the API."""

    name = "lottery.web"
    label = "web"
    verbose_name = "Web pages"
