from django.apps import AppConfig


class DrawsConfig(AppConfig):
    name = "lottery.draws"
    label = "draws"
