from django.apps import AppConfig


class WebConfig(AppConfig):
    """Server-rendered pages (API.md, "Pages"): thin views over the same services as the API."""

    name = "lottery.web"
    label = "web"
    verbose_name = "Web pages"
