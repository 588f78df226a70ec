from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "lottery.accounts"
    label = "accounts"
